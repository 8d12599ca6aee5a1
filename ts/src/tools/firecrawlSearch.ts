/** Firecrawl's search API (`POST {apiUrl}/v2/search`), the twin of Python's `FirecrawlSearch`. */
import { STATUS_CODES } from 'node:http';
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

export const FIRECRAWL_API_URL = 'https://api.firecrawl.dev';
/** The largest `limit` Firecrawl's search accepts. */
export const FIRECRAWL_MAX_RESULTS = 100;

export interface FirecrawlSearchOptions {
  /** Default `$FIRECRAWL_API_KEY`; without one the request is sent without a key. */
  apiKey?: string;
  /** Default `$FIRECRAWL_API_URL`, else `https://api.firecrawl.dev`. */
  apiUrl?: string;
}

function errorMessage(status: number, detail: string): string {
  const head = `Firecrawl returned ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  let hint = '';
  if (status === 401 || status === 403) hint = ' — check FIRECRAWL_API_KEY';
  else if (status === 402) hint = ' — the Firecrawl account is out of credits';
  else if (status === 429) hint = ' — rate limited, try again later';
  return `${head}${hint}: ${detail}`;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** A `web` entry: a plain hit (`url`, `title`, `description`) or a scraped document. */
function toResult(item: Record<string, unknown>): SearchResult {
  const meta = item.metadata as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object') {
    return {
      title: text(meta.title) || text(item.title),
      url: text(meta.url) || text(meta.sourceURL) || text(item.url),
      snippet:
        text(meta.description) || text(item.summary) || text(item.description) || text(item.markdown),
    };
  }
  return { title: text(item.title), url: text(item.url), snippet: text(item.description) };
}

/** Firecrawl's web search; `allowedDomains` is sent as Firecrawl's `includeDomains`. */
export class FirecrawlSearch implements SearchBackend {
  readonly name = 'firecrawl';
  readonly apiKey: string | undefined;
  readonly apiUrl: string | undefined;

  constructor(options: FirecrawlSearchOptions = {}) {
    this.apiKey = options.apiKey;
    this.apiUrl = options.apiUrl;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const apiUrl = (this.apiUrl || process.env.FIRECRAWL_API_URL || FIRECRAWL_API_URL).replace(
      /\/+$/,
      '',
    );
    const key = this.apiKey || process.env.FIRECRAWL_API_KEY || undefined;
    const body: Record<string, unknown> = {
      query,
      limit: Math.min(options.maxResults, FIRECRAWL_MAX_RESULTS),
      timeout: Math.max(1, Math.min(Math.trunc(options.timeout * 1000), 300_000)),
    };
    if (options.allowedDomains) body.includeDomains = [...options.allowedDomains];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    let response: Response;
    let raw: string;
    try {
      response = await postWithTimeout(`${apiUrl}/v2/search`, { headers, body: JSON.stringify(body) }, options.timeout);
      raw = await response.text();
    } catch (error) {
      if (isTimeout(error)) {
        throw new WebSearchError(`Firecrawl timed out after ${seconds(options.timeout)}s`);
      }
      throw new WebSearchError(`could not reach Firecrawl at ${apiUrl}: ${networkCause(error)}`);
    }
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const detail = text(parsed?.error) || raw.trim().slice(0, 500) || 'no details';
      throw new WebSearchError(errorMessage(response.status, `Failed to search. ${detail}`));
    }
    const data = parsed?.data as { web?: unknown } | undefined;
    if (!parsed || typeof data !== 'object' || data === null) {
      throw new WebSearchError(`Firecrawl sent a response it could not read: ${raw.slice(0, 200)}`);
    }
    const web = data.web ?? [];
    if (!Array.isArray(web)) {
      throw new WebSearchError('Firecrawl sent a response it could not read: data.web is not a list');
    }
    return web.map((item) => toResult(item as Record<string, unknown>));
  }
}
