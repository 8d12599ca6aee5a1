/** Search results shared by every backend: the result type, domain filtering and the tool's text. */
import { ConfigurationError } from '../errors.js';

export type ContextSize = 'low' | 'medium' | 'high';

/** Results given to the model per `searchContextSize`. */
export const RESULT_COUNTS: Readonly<Record<ContextSize, number>> = { low: 3, medium: 5, high: 10 };

/** Longest snippet (in characters) kept per result per `searchContextSize`. */
export const SNIPPET_CHARS: Readonly<Record<ContextSize, number>> = {
  low: 300,
  medium: 600,
  high: 1200,
};

/** One web search hit, normalised across backends. */
export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
}

/** `size` if it is `low`, `medium` or `high`; `ConfigurationError` otherwise. */
export function checkContextSize(size: string): ContextSize {
  if (size === 'low' || size === 'medium' || size === 'high') return size;
  throw new ConfigurationError(
    `search_context_size must be 'low', 'medium' or 'high', not '${size}'`,
  );
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Lower-case host names from `domains` (URLs and `*.` prefixes accepted); undefined if none. */
export function normalizeDomains(
  domains: readonly string[] | string | undefined | null,
): string[] | undefined {
  if (domains === undefined || domains === null) return undefined;
  const list = typeof domains === 'string' ? [domains] : domains;
  const hosts: string[] = [];
  for (const raw of list) {
    let text = raw.trim().toLowerCase();
    if (text.includes('://')) text = hostOf(text) ?? '';
    text = text.split('/', 1)[0]!;
    if (text.startsWith('*.')) text = text.slice(2);
    text = text.replace(/^\.+|\.+$/g, '');
    if (!text) throw new ConfigurationError(`allowed_domains entry '${raw}' names no domain`);
    if (!hosts.includes(text)) hosts.push(text);
  }
  if (hosts.length === 0) {
    throw new ConfigurationError('allowed_domains is empty; pass undefined to allow every domain');
  }
  return hosts;
}

/** True if `url`'s host is one of `domains` or a subdomain of one. */
export function inDomains(url: string, domains: readonly string[]): boolean {
  const host = (hostOf(url) ?? '').toLowerCase().replace(/\.+$/, '');
  if (!host) return false;
  return domains.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

/** `query` restricted with `site:` operators, for engines that understand them. */
export function siteQuery(query: string, domains: readonly string[] | undefined): string {
  if (!domains || domains.length === 0) return query;
  const sites = domains.map((domain) => `site:${domain}`).join(' OR ');
  return domains.length > 1 ? `${query} (${sites})` : `${query} ${sites}`;
}

/** Drop results without a URL, outside `domains` or repeated; keep at most `limit`. */
export function selectResults(
  results: Iterable<SearchResult>,
  limit: number,
  domains: readonly string[] | undefined,
): SearchResult[] {
  const kept: SearchResult[] = [];
  const seen = new Set<string>();
  for (const result of results) {
    if (!result.url || seen.has(result.url)) continue;
    if (domains && domains.length > 0 && !inDomains(result.url, domains)) continue;
    seen.add(result.url);
    kept.push(result);
    if (kept.length >= limit) break;
  }
  return kept;
}

/** Whitespace collapsed, then cut to `limit` characters (code points) with an ellipsis. */
function clip(text: string, limit: number): string {
  const flat = text.split(/\s+/).filter(Boolean).join(' ');
  const chars = Array.from(flat);
  if (chars.length <= limit) return flat;
  return `${chars
    .slice(0, limit - 1)
    .join('')
    .trimEnd()}…`;
}

/** The text the model receives: a header, then title, URL and snippet per result. */
export function formatResults(
  query: string,
  results: readonly SearchResult[],
  backend: string,
  snippetChars: number,
  domains: readonly string[] | undefined,
): string {
  const where = domains && domains.length > 0 ? ` within ${domains.join(', ')}` : '';
  if (results.length === 0) return `web_search: no results for "${query}"${where} (backend: ${backend}).`;
  const count = `${results.length} result${results.length === 1 ? '' : 's'}`;
  const lines = [`Web search results for "${query}"${where} (${count}, backend: ${backend}):`];
  results.forEach((result, index) => {
    lines.push('');
    lines.push(`${index + 1}. ${clip(result.title, 200) || '(untitled)'}`);
    lines.push(`   URL: ${result.url}`);
    const snippet = clip(result.snippet, snippetChars);
    if (snippet) lines.push(`   ${snippet}`);
  });
  return lines.join('\n');
}
