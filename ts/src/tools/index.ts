/** Tools for agents on any model: `webSearch` and its backends (Python's `timestep.tools`). */
export type { SearchBackend, SearchOptions } from './backend.js';
export { DdgsSearch, parseDuckDuckGoHtml, type DdgsSearchOptions } from './ddgsSearch.js';
export { FirecrawlSearch, type FirecrawlSearchOptions } from './firecrawlSearch.js';
export { OllamaSearch, type OllamaSearchOptions } from './ollamaSearch.js';
export { RESULT_COUNTS, type ContextSize, type SearchResult } from './results.js';
export { selectBackend, type BackendName } from './select.js';
export {
  hostedWebSearchTool,
  isOpenAIResponsesModel,
  webSearch,
  webSearchTool,
  webSearchToolFor,
  type WebSearchToolOptions,
} from './tool.js';
