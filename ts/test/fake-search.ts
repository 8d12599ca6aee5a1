/**
 * Fake web search services on 127.0.0.1 in the shapes of tests/harness/fake_search.py: Ollama's
 * `POST /api/web_search`, Firecrawl's `POST /v2/search` and DuckDuckGo's `POST /html/`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  title: string;
  url: string;
  snippet: string;
}

export interface SearchRequest {
  path: string;
  authorization: string | undefined;
  body: string;
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class FakeSearch {
  hits: Hit[] = [];
  apiKey: string | null = 'test-key';
  status = 200;
  error = 'internal error';
  delayMs = 0;
  readonly requests: SearchRequest[] = [];
  url = '';
  #server: Server | undefined;

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
        setTimeout(() => this.answer(req.url ?? '', req.headers.authorization, body, res), this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  private answer(
    path: string,
    authorization: string | undefined,
    body: string,
    res: import('node:http').ServerResponse,
  ): void {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const denied = this.apiKey !== null && authorization !== `Bearer ${this.apiKey}`;
    if (path === '/api/web_search') {
      if (denied) return json(401, { error: 'unauthorized' });
      if (this.status !== 200) return json(this.status, { error: this.error });
      const limit = Number((JSON.parse(body) as { max_results?: number }).max_results ?? 5);
      return json(200, {
        results: this.hits.slice(0, limit).map((h) => ({ title: h.title, url: h.url, content: h.snippet })),
      });
    }
    if (path === '/v2/search') {
      if (denied) return json(401, { success: false, error: 'Unauthorized: Invalid token' });
      if (this.status !== 200) return json(this.status, { success: false, error: this.error });
      const limit = Number((JSON.parse(body) as { limit?: number }).limit ?? 5);
      const web = this.hits
        .slice(0, limit)
        .map((h, n) => ({ url: h.url, title: h.title, description: h.snippet, position: n + 1 }));
      return json(200, { success: true, data: { web }, creditsUsed: 2, id: 'search-1' });
    }
    if (path === '/html/') {
      res.writeHead(this.status, { 'content-type': 'text/html' });
      if (this.status !== 200) return void res.end('<html><body>error</body></html>');
      const blocks = this.hits
        .map(
          (h) =>
            '<div class="result results_links web-result"><div class="links_main result__body">' +
            `<h2 class="result__title"><a class="result__a" href="${escape(h.url)}">${escape(h.title)}</a></h2>` +
            `<a class="result__snippet" href="${escape(h.url)}">${escape(h.snippet)}</a></div></div>`,
        )
        .join('');
      return void res.end(`<html><body><div id='links'>${blocks || '<div class="no-results">No results.</div>'}</div></body></html>`);
    }
    res.writeHead(404);
    res.end();
  }
}
