/** Choosing a web search backend: by name, else by the credentials in the environment. */
import { ConfigurationError } from '../errors.js';
import type { SearchBackend } from './backend.js';
import { DdgsSearch } from './ddgsSearch.js';
import { FirecrawlSearch } from './firecrawlSearch.js';
import { OllamaSearch } from './ollamaSearch.js';

/** Function-tool backends by name (`'openai'`, the hosted tool, is handled by the factory). */
export type BackendName = 'ollama' | 'firecrawl' | 'ddgs';
export const BACKEND_NAMES: readonly BackendName[] = ['ollama', 'firecrawl', 'ddgs'];

/** A backend with default settings for `name`; `ConfigurationError` for an unknown name. */
export function backendFromName(name: string): SearchBackend {
  if (name === 'ollama') return new OllamaSearch();
  if (name === 'firecrawl') return new FirecrawlSearch();
  if (name === 'ddgs') return new DdgsSearch();
  throw new ConfigurationError(
    `unknown web search backend '${name}'; use one of ` +
      [...BACKEND_NAMES, 'openai'].map((n) => `'${n}'`).join(', ') +
      ' or a SearchBackend object',
  );
}

/**
 * The backend the credentials allow, in this order: `OLLAMA_API_KEY` set -> Ollama web search;
 * `FIRECRAWL_API_KEY` (or `FIRECRAWL_API_URL`, a self-hosted server) set -> Firecrawl; otherwise
 * the keyless DuckDuckGo backend (`ddgs`), which needs no package in TypeScript.
 */
export function selectBackend(env: Record<string, string | undefined> = process.env): SearchBackend {
  if (env.OLLAMA_API_KEY) return new OllamaSearch({ apiKey: env.OLLAMA_API_KEY });
  if (env.FIRECRAWL_API_KEY || env.FIRECRAWL_API_URL) {
    const options: { apiKey?: string; apiUrl?: string } = {};
    if (env.FIRECRAWL_API_KEY) options.apiKey = env.FIRECRAWL_API_KEY;
    if (env.FIRECRAWL_API_URL) options.apiUrl = env.FIRECRAWL_API_URL;
    return new FirecrawlSearch(options);
  }
  return new DdgsSearch();
}
