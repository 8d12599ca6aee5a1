/** OllamaModelProvider: one OllamaModel per name, local or on Ollama Cloud by the naming rule. */
import { ConfigurationError } from '../../errors.js';
import type { ModelProvider } from '@openai/agents';
import { OllamaModel, type OllamaModelOptions } from './model.js';
import { cloudApiName, isCloudModel } from './names.js';
import { DEFAULT_OLLAMA_HOST, OLLAMA_CLOUD_HOST } from './wire.js';

export interface OllamaModelProviderOptions {
  /** The Ollama Cloud key (else `$OLLAMA_API_KEY`); sent to the cloud host only. */
  apiKey?: string;
  /** The local server (else `$OLLAMA_HOST`, else `http://localhost:11434`). */
  host?: string;
  /** Older name of `host`. */
  baseURL?: string;
  /** Ollama Cloud's address (default `https://ollama.com`). */
  cloudHost?: string;
  /** Milliseconds per request (default: none). */
  timeoutMs?: number;
  /** Every model goes to Ollama Cloud (the `ollama-cloud/` prefix); a key is required. */
  cloud?: boolean;
}

/**
 * Ollama models, each sent to the local server or to Ollama Cloud by its name (the host is
 * chosen for every model, never fixed by the first one used):
 *
 * - a plain name (`qwen2.5`, `llama3.2:3b`) goes to the local server, without any key;
 * - a cloud tag (`gpt-oss:120b-cloud`, `glm-4.6:cloud`) goes to Ollama Cloud as `gpt-oss:120b`
 *   with `Authorization: Bearer <apiKey or $OLLAMA_API_KEY>`; without a key it goes to the
 *   local server under its full name (a local Ollama signed in with `ollama signin` forwards it);
 * - with `cloud: true` every name goes to Ollama Cloud as given, and a key is required.
 */
export class OllamaModelProvider implements ModelProvider {
  readonly cloud: boolean;
  readonly #host: string | undefined;
  readonly #cloudHost: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number | undefined;

  constructor(options: OllamaModelProviderOptions = {}) {
    if (options.baseURL && options.host && options.baseURL !== options.host) {
      throw new ConfigurationError('give the Ollama server as `host` or `baseURL`, not both');
    }
    this.#host = options.host ?? options.baseURL;
    this.#cloudHost = options.cloudHost;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs;
    this.cloud = options.cloud ?? false;
  }

  /** The local server: the `host` option, else `$OLLAMA_HOST`, else the default. */
  get host(): string {
    return this.#host || process.env.OLLAMA_HOST || DEFAULT_OLLAMA_HOST;
  }

  /** Ollama Cloud's address. */
  get cloudHost(): string {
    return this.#cloudHost || OLLAMA_CLOUD_HOST;
  }

  /** The Ollama Cloud key: the `apiKey` option, else `$OLLAMA_API_KEY`. */
  get apiKey(): string | undefined {
    return this.#apiKey || process.env.OLLAMA_API_KEY || undefined;
  }

  /** The model for `modelName` on the host the naming rule picks. */
  getModel(modelName?: string): OllamaModel {
    if (!modelName) {
      throw new ConfigurationError(
        "an Ollama model needs a name, e.g. 'ollama/qwen2.5' or 'ollama/gpt-oss:120b-cloud'",
      );
    }
    const key = this.apiKey;
    if (this.cloud && !key) {
      throw new ConfigurationError(
        `Ollama Cloud model '${modelName}' needs an API key: set OLLAMA_API_KEY ` +
          '(create one at https://ollama.com/settings/keys)',
      );
    }
    if (this.cloud || (key && isCloudModel(modelName))) {
      return this.#model(cloudApiName(modelName), this.cloudHost, key, true);
    }
    return this.#model(modelName, this.host, undefined, false);
  }

  #model(name: string, host: string, key: string | undefined, cloud: boolean): OllamaModel {
    const strip = (h: string) => h.replace(/\/+$/, '');
    const options: OllamaModelOptions = { host, cloud };
    // A key goes to the cloud host only (or to a "local" host that is the cloud itself).
    if (key && strip(host) === strip(this.cloudHost)) options.apiKey = key;
    if (this.#timeoutMs !== undefined) options.timeoutMs = this.#timeoutMs;
    return new OllamaModel(name, options);
  }
}
