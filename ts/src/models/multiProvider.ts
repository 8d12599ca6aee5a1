/**
 * MultiModelProvider / MultiModelProviderMap: route a model name to a provider by its prefix,
 * as timestep's Python `MultiModelProvider` does (none or `openai/` -> OpenAI, `ollama/` ->
 * Ollama, `ollama-cloud/` -> Ollama Cloud, user prefixes via the map).
 */
import { OpenAIProvider } from '@openai/agents';
import type { Model, ModelProvider } from '@openai/agents';
import { UnknownModelPrefixError } from '../errors.js';
import { OllamaModelProvider } from './ollama/index.js';

type OpenAIProviderOptions = NonNullable<ConstructorParameters<typeof OpenAIProvider>[0]>;

/**
 * Maps model name prefixes to providers: `map.addProvider('acme', new AcmeProvider())` makes
 * `'acme/model-x'` go to `AcmeProvider.getModel('model-x')`. Entries win over the built-in routes
 * (so a map can also replace `ollama` or `openai`).
 */
export class MultiModelProviderMap {
  #mapping = new Map<string, ModelProvider>();

  hasPrefix(prefix: string): boolean {
    return this.#mapping.has(prefix);
  }

  getMapping(): Map<string, ModelProvider> {
    return new Map(this.#mapping);
  }

  setMapping(mapping: Map<string, ModelProvider> | Record<string, ModelProvider>): void {
    this.#mapping = new Map(mapping instanceof Map ? mapping : Object.entries(mapping));
  }

  getProvider(prefix: string): ModelProvider | undefined {
    return this.#mapping.get(prefix);
  }

  addProvider(prefix: string, provider: ModelProvider): void {
    this.#mapping.set(prefix, provider);
  }

  /** Remove the provider for `prefix` (no error if there is none). */
  removeProvider(prefix: string): void {
    this.#mapping.delete(prefix);
  }
}

export interface MultiModelProviderOptions {
  /** Your own prefixes (they win over the built-in ones). */
  providerMap?: MultiModelProviderMap;
  /** OpenAI key (else `$OPENAI_API_KEY`). */
  openaiApiKey?: string;
  /** OpenAI-compatible endpoint (else `$OPENAI_BASE_URL`, else OpenAI's). */
  openaiBaseURL?: string;
  /** An `OpenAI` client to use (instead of a key and base URL). */
  openaiClient?: OpenAIProviderOptions['openAIClient'];
  /** Responses API (true) or Chat Completions (false); default: the SDK's default. */
  openaiUseResponses?: boolean;
  /** Any other option of the SDK's `OpenAIProvider`. */
  openaiOptions?: Omit<OpenAIProviderOptions, 'apiKey' | 'baseURL' | 'openAIClient' | 'useResponses'>;
  /** The local Ollama server (else `$OLLAMA_HOST`, else `http://localhost:11434`). */
  ollamaHost?: string;
  /** The Ollama Cloud key (else `$OLLAMA_API_KEY`). */
  ollamaApiKey?: string;
  /** Ollama Cloud's address (default `https://ollama.com`). */
  ollamaCloudHost?: string;
  /** Milliseconds per Ollama request. */
  ollamaTimeoutMs?: number;
  /** `'error'` (default): an unknown prefix throws; `'model_id'`: the whole name goes to OpenAI. */
  unknownPrefixMode?: 'error' | 'model_id';
}

/** Prefixes only Python serves; named in the error so a user knows why. */
const PYTHON_ONLY = ['local', 'litellm', 'any-llm'];

/**
 * Finds the provider for a model name by its prefix (the text before the first `/`):
 *
 * - no prefix or `openai/` -> the SDK's `OpenAIProvider` (`gpt-4.1`, `openai/gpt-4.1`),
 *   configured by the options, else `$OPENAI_API_KEY` / `$OPENAI_BASE_URL`;
 * - `ollama/` -> `OllamaModelProvider` (`ollama/qwen2.5`; cloud tags such as
 *   `ollama/gpt-oss:120b-cloud` go to Ollama Cloud when `$OLLAMA_API_KEY` is set);
 * - `ollama-cloud/` -> always Ollama Cloud (`ollama-cloud/gpt-oss:120b`);
 * - any prefix of `providerMap` -> that provider (map entries win over the above).
 *
 * Any other prefix throws `UnknownModelPrefixError` naming the known ones.
 */
export class MultiModelProvider implements ModelProvider {
  readonly providerMap: MultiModelProviderMap | undefined;
  readonly ollamaProvider: OllamaModelProvider;
  readonly ollamaCloudProvider: OllamaModelProvider;
  readonly #openaiOptions: OpenAIProviderOptions;
  readonly #unknownPrefixMode: 'error' | 'model_id';
  #openai: OpenAIProvider | undefined;

  constructor(options: MultiModelProviderOptions = {}) {
    const ollama = {
      ...(options.ollamaHost !== undefined ? { host: options.ollamaHost } : {}),
      ...(options.ollamaApiKey !== undefined ? { apiKey: options.ollamaApiKey } : {}),
      ...(options.ollamaCloudHost !== undefined ? { cloudHost: options.ollamaCloudHost } : {}),
      ...(options.ollamaTimeoutMs !== undefined ? { timeoutMs: options.ollamaTimeoutMs } : {}),
    };
    this.ollamaProvider = new OllamaModelProvider(ollama);
    this.ollamaCloudProvider = new OllamaModelProvider({ ...ollama, cloud: true });
    this.providerMap = options.providerMap;
    this.#unknownPrefixMode = options.unknownPrefixMode ?? 'error';
    const openai: OpenAIProviderOptions = { ...(options.openaiOptions ?? {}) };
    if (options.openaiClient !== undefined) openai.openAIClient = options.openaiClient;
    if (options.openaiApiKey !== undefined) openai.apiKey = options.openaiApiKey;
    if (options.openaiBaseURL !== undefined) openai.baseURL = options.openaiBaseURL;
    if (options.openaiUseResponses !== undefined) openai.useResponses = options.openaiUseResponses;
    this.#openaiOptions = openai;
  }

  /**
   * The SDK's OpenAI provider, created on first use. Unset settings are left to the SDK, which
   * uses a client set with `setDefaultOpenAIClient`, else `setDefaultOpenAIKey` /
   * `$OPENAI_API_KEY` and `$OPENAI_BASE_URL` (read by the `openai` client).
   */
  get openaiProvider(): OpenAIProvider {
    this.#openai ??= new OpenAIProvider({ ...this.#openaiOptions });
    return this.#openai;
  }

  #builtin(): Map<string, ModelProvider> {
    return new Map<string, ModelProvider>([
      ['openai', this.openaiProviderLazy],
      ['ollama', this.ollamaProvider],
      ['ollama-cloud', this.ollamaCloudProvider],
    ]);
  }

  /** A stand-in for the OpenAI provider that does not create it until a model is asked for. */
  private readonly openaiProviderLazy: ModelProvider = {
    getModel: (name?: string) => this.openaiProvider.getModel(name),
  };

  /** Every prefix this provider routes, sorted. */
  get knownPrefixes(): string[] {
    const user = this.providerMap ? [...this.providerMap.getMapping().keys()] : [];
    return [...new Set([...this.#builtin().keys(), ...user])].sort();
  }

  /** The provider for `prefix` (user map first), if any. */
  getProvider(prefix: string): ModelProvider | undefined {
    return this.providerMap?.getProvider(prefix) ?? this.#builtin().get(prefix);
  }

  /** The model for `modelName`, from the provider its prefix names. */
  async getModel(modelName?: string): Promise<Model> {
    if (!modelName || !modelName.includes('/')) return this.openaiProvider.getModel(modelName);
    const slash = modelName.indexOf('/');
    const prefix = modelName.slice(0, slash);
    const rest = modelName.slice(slash + 1);
    const provider = this.getProvider(prefix);
    if (provider) return provider.getModel(rest);
    if (this.#unknownPrefixMode === 'model_id') return this.openaiProvider.getModel(modelName);
    const known = this.knownPrefixes.map((p) => `${p}/`).join(', ');
    const pythonOnly = PYTHON_ONLY.includes(prefix)
      ? ` ('${prefix}/' is served by timestep's Python package only)`
      : '';
    throw new UnknownModelPrefixError(
      `unknown model prefix '${prefix}' in '${modelName}'${pythonOnly}; known prefixes: ${known} ` +
        '(or none, for OpenAI). Add your own with MultiModelProviderMap.',
    );
  }
}
