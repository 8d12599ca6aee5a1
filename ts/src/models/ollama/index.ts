/**
 * OllamaModel / OllamaModelProvider: the JS SDK's `Model` interface on Ollama's native
 * `POST /api/chat` (JSON, and NDJSON when streaming), local or on Ollama Cloud. The TypeScript
 * twin of timestep's Python `OllamaModel` / `OllamaModelProvider`: same naming rule, same request
 * body, same output items.
 */
export { OllamaModel, type OllamaModelOptions } from './model.js';
export { cloudApiName, isCloudModel } from './names.js';
export { OllamaModelProvider, type OllamaModelProviderOptions } from './provider.js';
export { buildChatBody, settingsToOptions, thinkValue, toMessages } from './request.js';
export {
  DEFAULT_OLLAMA_HOST,
  OLLAMA_CLOUD_HOST,
  type OllamaChatResponse,
  type OllamaMessage,
} from './wire.js';
