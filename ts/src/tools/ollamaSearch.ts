/** Ollama's web search API (`POST {host}/api/web_search`), the twin of Python's `OllamaSearch`. */
import { WebSearchError } from '../errors.js';
import {
  isTimeout,
  networkCause,
  postWithTimeout,
  seconds,
  type SearchBackend,
  type SearchOptions,
} from './backend.js';
import type { SearchResult } from './results.js';

export const OLLAMA_SEARCH_HOST = 'https://ollama.com';
/** The most results Ollama's web search API returns for one query. */
export const OLLAMA_MAX_RESULTS = 10;

export interface OllamaSearchOptions {
  /** Default `$OLLAMA_API_KEY`. */
  apiKey?: string;
  /** Default `$TIMESTEP_OLLAMA_SEARCH_HOST`, else `https://ollama.com`. */
  host?: string;
}

function statusMessage(status: number, detail: string): string {
  if (status === 401 || status === 403) {
    return `Ollama web search returned ${status} (${detail}) — check OLLAMA_API_KEY`;
  }
  if (status === 429) {
    return `Ollama web search returned 429 (${detail}) — rate limited, try again later`;
  }
  return `Ollama web search returned ${status} (${detail})`;
}

/**
 * Ollama's hosted web search (needs an Ollama account key). Ollama has no domain filter, so with
 * `allowedDomains` the backend asks for the maximum (10) results and the tool keeps those inside.
 */
export class OllamaSearch implements SearchBackend {
  readonly name = 'ollama';
  readonly apiKey: string | undefined;
  readonly host: string | undefined;

  constructor(options: OllamaSearchOptions = {}) {
    this.apiKey = options.apiKey;
    this.host = options.host;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const key = this.apiKey || process.env.OLLAMA_API_KEY;
    if (!key) throw new WebSearchError('Ollama web search needs an API key — set OLLAMA_API_KEY');
    const host = (this.host || process.env.TIMESTEP_OLLAMA_SEARCH_HOST || OLLAMA_SEARCH_HOST).replace(
      /\/+$/,
      '',
    );
    const wanted = options.allowedDomains
      ? OLLAMA_MAX_RESULTS
      : Math.min(options.maxResults, OLLAMA_MAX_RESULTS);
    let response: Response;
    let text: string;
    try {
      response = await postWithTimeout(
        `${host}/api/web_search`,
        {
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, max_results: wanted }),
        },
        options.timeout,
      );
      text = await response.text();
    } catch (error) {
      if (isTimeout(error)) {
        throw new WebSearchError(`Ollama web search timed out after ${seconds(options.timeout)}s`);
      }
      throw new WebSearchError(
        `could not reach Ollama web search at ${host}: ${networkCause(error)}`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const detail =
        typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
          ? (body as { error: string }).error
          : text.trim() || response.statusText;
      throw new WebSearchError(statusMessage(response.status, detail));
    }
    const results = (body as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results)) {
      throw new WebSearchError(
        `Ollama web search sent a response it could not read: ${text.slice(0, 200)}`,
      );
    }
    return results.map((item: Record<string, unknown>) => ({
      title: typeof item.title === 'string' ? item.title : '',
      url: typeof item.url === 'string' ? item.url : '',
      snippet: typeof item.content === 'string' ? item.content : '',
    }));
  }
}
