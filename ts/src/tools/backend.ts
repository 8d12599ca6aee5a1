/** The interface every web search backend implements. */
import type { SearchResult } from './results.js';

export interface SearchOptions {
  maxResults: number;
  allowedDomains: readonly string[] | undefined;
  /** Seconds; the backend must give up after about this long. */
  timeout: number;
}

/** A web search service. `search` throws `WebSearchError` with a message for the model. */
export interface SearchBackend {
  /** Short name shown to the model, e.g. `"firecrawl"`. */
  readonly name: string;
  /**
   * Up to `maxResults` hits for `query`; may return hits outside `allowedDomains` (the caller
   * filters again).
   */
  search(query: string, options: SearchOptions): Promise<SearchResult[]>;
}

/** A POST with a JSON (or form) body under a deadline; network failures become `undefined`. */
export async function postWithTimeout(
  url: string,
  init: { headers: Record<string, string>; body: string },
  timeout: number,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: init.headers,
    body: init.body,
    signal: AbortSignal.timeout(Math.max(1, Math.round(timeout * 1000))),
  });
}

/** True for the error fetch throws when its AbortSignal.timeout fires. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** The cause of a network failure as fetch reports it (`ECONNREFUSED`, ...). */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** `seconds` as Python's `{:g}` prints it (20.0 -> 20, 0.5 -> 0.5). */
export function seconds(value: number): string {
  return String(Number(value.toPrecision(6)));
}
