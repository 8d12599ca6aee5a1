/** @timestep-ai/timestep: durable, resumable, cross-language OpenAI Agents SDK runs. */
export { runAgent, consumeResult, type RunAgentOptions } from './run.js';
export {
  RunStateStore,
  RunNotFoundError,
  StaleStateError,
  StoreError,
  StoreSchemaError,
  KNOWN_REVISIONS,
  RUN_STATUSES,
  jsSdkVersion,
  stateFacts,
  type PendingApproval,
  type RunStatus,
  type RunSummary,
  type SaveOptions,
  type StoredState,
} from './store.js';
export {
  toPython,
  toTypeScript,
  itemsToPython,
  itemsToTypeScript,
  detectLanguage,
  TranslationError,
  CorruptStateError,
  UnsupportedStateFeatureError,
  UnsupportedSchemaVersionError,
  SUPPORTED_JS_SCHEMAS,
  SUPPORTED_PYTHON_SCHEMAS,
  type Json,
  type Language,
} from './translate.js';
export {
  MultiModelProvider,
  MultiModelProviderMap,
  type MultiModelProviderOptions,
} from './providers.js';
export {
  OllamaModel,
  OllamaModelProvider,
  DEFAULT_OLLAMA_HOST,
  OLLAMA_CLOUD_HOST,
  isCloudModel,
  cloudApiName,
  type OllamaModelOptions,
  type OllamaModelProviderOptions,
} from './ollama.js';
export {
  ConfigurationError,
  ModelNotFoundError,
  ModelProviderError,
  ModelServerUnavailableError,
  UnknownModelPrefixError,
  UnsupportedModelInputError,
} from './errors.js';
export { TimestepSession, openSession, type TimestepSessionOptions } from './session.js';
