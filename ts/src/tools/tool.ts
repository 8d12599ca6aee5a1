/**
 * The `web_search` tool for any model, the twin of Python's `timestep.tools`: a function tool
 * that runs a backend and turns every outcome, failures included, into text for the model; or,
 * with backend `'openai'`, the SDK's hosted web search (OpenAI Responses models only).
 */
import { OpenAIResponsesModel, webSearchTool as hostedTool } from '@openai/agents';
import type { Agent, FunctionTool, HostedTool, Model } from '@openai/agents';
import { ConfigurationError, WebSearchError } from '../errors.js';
import type { SearchBackend } from './backend.js';
import { seconds } from './backend.js';
import {
  checkContextSize,
  formatResults,
  normalizeDomains,
  RESULT_COUNTS,
  selectResults,
  SNIPPET_CHARS,
  type ContextSize,
} from './results.js';
import { backendFromName, selectBackend, type BackendName } from './select.js';

/** Seconds a search may take before the model is told it timed out. */
export const DEFAULT_TIMEOUT = 20;
/** Extra seconds before the tool stops waiting for a backend that ignores its timeout. */
const GRACE = 1;
export const TOOL_NAME = 'web_search';

const DESCRIPTION =
  'Search the web. Returns the top results, each with its title, URL and a snippet. ' +
  'Use it for current events or facts you are unsure of, and cite the URLs you use.';

const PARAMETERS = {
  type: 'object' as const,
  properties: {
    query: { type: 'string', description: 'What to search for, as a search-engine query.' },
  },
  required: ['query'],
  additionalProperties: false as const,
};

export interface WebSearchToolOptions {
  /** `low` / `medium` / `high` = 3 / 5 / 10 results, snippets of at most 300 / 600 / 1200 chars. */
  searchContextSize?: ContextSize;
  /** Keep only results from these domains or their subdomains. */
  allowedDomains?: readonly string[];
  /** Seconds per search (default 20). */
  timeout?: number;
  name?: string;
  description?: string;
}

function isBackend(value: unknown): value is SearchBackend {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { search?: unknown }).search === 'function' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

function queryFrom(args: string): string {
  let parsed: unknown;
  try {
    parsed = args ? JSON.parse(args) : {};
  } catch (error) {
    throw new WebSearchError(
      `the arguments are not JSON (${(error as Error).message}); send {'query': '...'}`,
    );
  }
  const query =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as { query?: unknown }).query
      : undefined;
  if (typeof query !== 'string' || !query.trim()) {
    throw new WebSearchError("the query is empty; send {'query': 'what to search for'}");
  }
  return query.trim();
}

function withDeadline<T>(work: Promise<T>, timeout: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new DeadlineError()), (timeout + GRACE) * 1000);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

class DeadlineError extends Error {}

/** One configured search: `run(query)` returns the model-facing text and never throws. */
export class WebSearch {
  constructor(
    readonly backend: SearchBackend | undefined,
    readonly contextSize: ContextSize,
    readonly allowedDomains: string[] | undefined,
    readonly timeout: number,
  ) {}

  async run(query: string): Promise<string> {
    let backendName = this.backend?.name ?? 'auto';
    try {
      const backend = this.backend ?? selectBackend();
      backendName = backend.name;
      const limit = RESULT_COUNTS[this.contextSize];
      const found = await withDeadline(
        backend.search(query, {
          maxResults: limit,
          allowedDomains: this.allowedDomains,
          timeout: this.timeout,
        }),
        this.timeout,
      );
      const results = selectResults(found, limit, this.allowedDomains);
      return formatResults(
        query,
        results,
        backendName,
        SNIPPET_CHARS[this.contextSize],
        this.allowedDomains,
      );
    } catch (error) {
      if (error instanceof WebSearchError) return `web_search failed (${backendName}): ${error.message}`;
      if (error instanceof DeadlineError) {
        return `web_search failed (${backendName}): timed out after ${seconds(this.timeout)}s`;
      }
      // A backend bug must not end the agent's run; the model gets the cause instead.
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return `web_search failed (${backendName}): ${name}: ${message}`;
    }
  }

  /** The tool's `invoke`: parse `{"query": ...}` and search. */
  async invoke(args: string): Promise<string> {
    let query: string;
    try {
      query = queryFrom(args);
    } catch (error) {
      return `web_search failed: ${(error as Error).message}`;
    }
    return this.run(query);
  }
}

/** A function tool searching with `backend` (a name, an object, or undefined for auto). */
function searchFunctionTool(
  backend: BackendName | SearchBackend | undefined,
  options: WebSearchToolOptions,
): FunctionTool {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!(timeout > 0)) {
    throw new ConfigurationError(`timeout must be a positive number of seconds, not ${timeout}`);
  }
  const chosen = typeof backend === 'string' ? backendFromName(backend) : backend;
  if (chosen !== undefined && !isBackend(chosen)) {
    throw new ConfigurationError('backend must be a name or a SearchBackend object');
  }
  const domains = normalizeDomains(options.allowedDomains);
  const search = new WebSearch(
    chosen,
    checkContextSize(options.searchContextSize ?? 'medium'),
    domains,
    timeout,
  );
  let text = options.description ?? DESCRIPTION;
  if (domains && options.description === undefined) {
    text += ` Only results from these domains are returned: ${domains.join(', ')}.`;
  }
  return {
    type: 'function',
    name: options.name ?? TOOL_NAME,
    description: text,
    parameters: PARAMETERS,
    strict: true,
    invoke: (_context, input) => search.invoke(input),
    needsApproval: async () => false,
    isEnabled: async () => true,
  } as FunctionTool;
}

/** The SDK's hosted web search with the same settings (OpenAI Responses models only). */
export function hostedWebSearchTool(
  options: { searchContextSize?: ContextSize; allowedDomains?: readonly string[] } = {},
): HostedTool {
  const size = checkContextSize(options.searchContextSize ?? 'medium');
  const domains = normalizeDomains(options.allowedDomains);
  return hostedTool({
    searchContextSize: size,
    ...(domains ? { filters: { allowedDomains: domains } } : {}),
  });
}

/**
 * A web search tool for any model: `backend` is `'ollama'`, `'firecrawl'`, `'ddgs'` (keyless
 * DuckDuckGo), a `SearchBackend`, or undefined to choose at each call from the credentials
 * present (`OLLAMA_API_KEY`, then `FIRECRAWL_API_KEY`, then keyless). `'openai'` returns the
 * SDK's hosted tool instead. Failures reach the model as a `web_search failed ...` text.
 */
export function webSearchTool(backend: 'openai', options?: WebSearchToolOptions): HostedTool;
export function webSearchTool(
  backend?: BackendName | SearchBackend,
  options?: WebSearchToolOptions,
): FunctionTool;
export function webSearchTool(
  backend?: BackendName | 'openai' | SearchBackend,
  options: WebSearchToolOptions = {},
): FunctionTool | HostedTool {
  if (backend === 'openai') {
    const hosted: { searchContextSize?: ContextSize; allowedDomains?: readonly string[] } = {};
    if (options.searchContextSize !== undefined) hosted.searchContextSize = options.searchContextSize;
    if (options.allowedDomains !== undefined) hosted.allowedDomains = options.allowedDomains;
    return hostedWebSearchTool(hosted);
  }
  return searchFunctionTool(backend, options);
}

/** True if `model` (an object, or a name the default provider would resolve) uses OpenAI's
 * Responses API, where the SDK's hosted tools work. */
export function isOpenAIResponsesModel(model: string | Model | undefined): boolean {
  if (model !== undefined && typeof model !== 'string') return model instanceof OpenAIResponsesModel;
  const prefix = model && model.includes('/') ? model.split('/', 1)[0] : 'openai';
  return prefix === 'openai';
}

/**
 * `webSearchTool(...)` checked against the agent's model: with `'openai'` the hosted tool is
 * returned only for an OpenAI Responses model, else `ConfigurationError` names the model.
 */
export function webSearchToolFor(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  agent: Agent<any, any>,
  backend?: BackendName | 'openai' | SearchBackend,
  options: Omit<WebSearchToolOptions, 'name' | 'description'> = {},
): FunctionTool | HostedTool {
  if (backend !== 'openai') return searchFunctionTool(backend, options);
  const model = agent.model as string | Model | undefined;
  if (!isOpenAIResponsesModel(model === '' ? undefined : model)) {
    const shown = typeof model === 'string' || model === undefined ? model : model.constructor.name;
    throw new ConfigurationError(
      `agent '${agent.name}': the hosted OpenAI web search needs an OpenAI Responses model, ` +
        `but its model is '${String(shown)}'; use webSearchTool() (Ollama, Firecrawl or ddgs), ` +
        'which works with any model',
    );
  }
  return webSearchTool('openai', options);
}

/** A ready `web_search` function tool: default settings, backend chosen at each call. */
export const webSearch: FunctionTool = webSearchTool();
