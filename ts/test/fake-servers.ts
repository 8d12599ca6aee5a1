/**
 * Small fake model servers on 127.0.0.1 for the provider tests: Ollama's `/api/chat` (JSON, and
 * NDJSON when `stream` is true) and OpenAI's `/v1/chat/completions`. Each records every request
 * and answers from a script of replies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface FakeReply {
  content?: string;
  thinking?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  promptEvalCount?: number;
  evalCount?: number;
  doneReason?: string;
  /** Answer with this HTTP status and `{"error": error}` instead. */
  status?: number;
  error?: string;
  /** Streaming only: end the stream without the final `done` chunk. */
  truncate?: boolean;
  /** Streaming only: send `{"error": ...}` as a line after the first chunk. */
  midStreamError?: string;
}

abstract class FakeServer {
  readonly requests: Recorded[] = [];
  replies: FakeReply[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        this.requests.push({ path: req.url ?? '', headers: req.headers, body });
        this.handle(req.url ?? '', body, res);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  protected next(): FakeReply {
    const reply = this.replies.shift();
    if (!reply) throw new Error('fake server: no scripted reply left');
    return reply;
  }

  protected abstract handle(path: string, body: Record<string, unknown>, res: ServerResponse): void;
}

/** A fake Ollama: `models` lists what it has (others get Ollama's 404). */
export class FakeOllama extends FakeServer {
  constructor(readonly models: string[] = []) {
    super();
  }

  protected handle(path: string, body: Record<string, unknown>, res: ServerResponse): void {
    if (path !== '/api/chat') {
      res.writeHead(404).end('404 page not found');
      return;
    }
    const model = String(body.model);
    if (this.models.length > 0 && !this.models.includes(model)) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `model '${model}' not found` }));
      return;
    }
    const reply = this.next();
    if (reply.status !== undefined) {
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: reply.error ?? 'failure' }));
      return;
    }
    const base = { model, created_at: '2026-11-27T05:00:00Z' };
    const final = {
      ...base,
      done: true,
      done_reason: reply.doneReason ?? 'stop',
      prompt_eval_count: reply.promptEvalCount ?? 0,
      eval_count: reply.evalCount ?? 0,
    };
    const calls = (reply.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
    if (body.stream === false) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const message: Record<string, unknown> = { role: 'assistant', content: reply.content ?? '' };
      if (reply.thinking) message.thinking = reply.thinking;
      if (calls.length > 0) message.tool_calls = calls;
      res.end(JSON.stringify({ ...final, message }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const line = (obj: unknown) => res.write(`${JSON.stringify(obj)}\n`);
    const msg = (fields: Record<string, unknown>) => ({ ...base, message: { role: 'assistant', content: '', ...fields }, done: false });
    if (reply.thinking) line(msg({ thinking: reply.thinking }));
    const words = (reply.content ?? '').match(/\S+\s*/g) ?? [];
    for (const word of words) {
      line(msg({ content: word }));
      if (reply.midStreamError) {
        line({ error: reply.midStreamError });
        res.end();
        return;
      }
    }
    for (const call of calls) line(msg({ tool_calls: [call] }));
    if (reply.truncate) {
      res.end();
      return;
    }
    line({ ...final, message: { role: 'assistant', content: '' } });
    res.end();
  }
}

/** A fake OpenAI Chat Completions endpoint (non-streamed replies only). */
export class FakeOpenAI extends FakeServer {
  protected handle(path: string, body: Record<string, unknown>, res: ServerResponse): void {
    if (!path.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    const reply = this.next();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 0,
        model: body.model,
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: { role: 'assistant', content: reply.content ?? '' },
          },
        ],
        usage: { prompt_tokens: reply.promptEvalCount ?? 0, completion_tokens: reply.evalCount ?? 0, total_tokens: (reply.promptEvalCount ?? 0) + (reply.evalCount ?? 0) },
      }),
    );
  }
}
