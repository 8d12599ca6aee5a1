/** Model providers: the TypeScript twin of Python's `timestep.models`. */
export {
  MultiModelProvider,
  MultiModelProviderMap,
  type MultiModelProviderOptions,
} from './multiProvider.js';
export {
  OllamaModel,
  OllamaModelProvider,
  DEFAULT_OLLAMA_HOST,
  OLLAMA_CLOUD_HOST,
  isCloudModel,
  cloudApiName,
  type OllamaModelOptions,
  type OllamaModelProviderOptions,
} from './ollama/index.js';
