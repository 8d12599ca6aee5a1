/**
 * A keyless backend: DuckDuckGo's HTML result page (`POST {host}/html/`, form fields `q`, `b`,
 * `l`), the page Python's `ddgs` package scrapes for its `duckduckgo` engine. Named `ddgs` like
 * Python's `DdgsSearch` so both languages tell the model the same backend.
 *
 * Limitation (as in Python): an engine's refusal page can look like an empty result page, so
 * "no results" can also mean the engine refused; connection errors and timeouts are failures.
 */
import { WebSearchError } from '../errors.js';
import {
  isTimeout,
  networkCause,
  postWithTimeout,
  seconds,
  type SearchBackend,
  type SearchOptions,
} from './backend.js';
import { siteQuery, type SearchResult } from './results.js';

export const DUCKDUCKGO_HTML_HOST = 'https://html.duckduckgo.com';

export interface DdgsSearchOptions {
  /** Default `$TIMESTEP_DDGS_HOST`, else `https://html.duckduckgo.com`. */
  host?: string;
  /** DuckDuckGo's region (`l`), default `us-en`. */
  region?: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function unescapeHtml(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, code: string) => {
    if (code[0] === '#') {
      const n = code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10);
      return Number.isFinite(n) ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[code.toLowerCase()] ?? whole;
  });
}

const stripTags = (value: string): string => unescapeHtml(value.replace(/<[^>]*>/g, ''));

/** DuckDuckGo's redirect links (`//duckduckgo.com/l/?uddg=<url>`) resolved to their target. */
function targetUrl(href: string): string {
  const raw = unescapeHtml(href);
  const match = /[?&]uddg=([^&]+)/.exec(raw);
  if (match) return decodeURIComponent(match[1]!);
  return raw.startsWith('//') ? `https:${raw}` : raw;
}

/** The hits of a DuckDuckGo HTML result page, in order. */
export function parseDuckDuckGoHtml(page: string): SearchResult[] {
  const results: SearchResult[] = [];
  const blocks = page.split(/class="[^"]*\bresult__body\b[^"]*"/).slice(1);
  for (const block of blocks) {
    const link = /<a[^>]*class="[^"]*\bresult__a\b[^"]*"[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/.exec(
      block,
    ) ?? /<a[^>]*href="([^"]*)"[^>]*class="[^"]*\bresult__a\b[^"]*"[^>]*>([\s\S]*?)<\/a>/.exec(block);
    if (!link) continue;
    const url = targetUrl(link[1]!);
    if (!url) continue;
    const snippet = /class="[^"]*\bresult__snippet\b[^"]*"[^>]*>([\s\S]*?)<\/(?:a|div|td)>/.exec(block);
    results.push({
      title: stripTags(link[2]!).trim(),
      url,
      snippet: snippet ? stripTags(snippet[1]!).trim() : '',
    });
  }
  return results;
}

/** Keyless web search on DuckDuckGo's HTML endpoint; `allowedDomains` become `site:` operators. */
export class DdgsSearch implements SearchBackend {
  readonly name = 'ddgs';
  readonly host: string | undefined;
  readonly region: string;

  constructor(options: DdgsSearchOptions = {}) {
    this.host = options.host;
    this.region = options.region ?? 'us-en';
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const host = (this.host || process.env.TIMESTEP_DDGS_HOST || DUCKDUCKGO_HTML_HOST).replace(
      /\/+$/,
      '',
    );
    const form = new URLSearchParams({
      q: siteQuery(query, options.allowedDomains),
      b: '',
      l: this.region,
    });
    let response: Response;
    let page: string;
    try {
      response = await postWithTimeout(
        `${host}/html/`,
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        },
        options.timeout,
      );
      page = await response.text();
    } catch (error) {
      if (isTimeout(error)) {
        throw new WebSearchError(`ddgs search timed out after ${seconds(options.timeout)}s`);
      }
      throw new WebSearchError(`ddgs search failed: could not reach ${host}: ${networkCause(error)}`);
    }
    if (response.status === 429 || response.status === 202) {
      throw new WebSearchError(
        `ddgs search was rate limited, try again later: ${host} returned ${response.status}`,
      );
    }
    if (!response.ok) return []; // as ddgs: an engine's non-200 page reads as no results
    return parseDuckDuckGoHtml(page).slice(0, options.maxResults);
  }
}
