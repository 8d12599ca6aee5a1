/** Typed errors of the model providers (the TypeScript twins of timestep's Python errors). */

/** A setting or argument that cannot work (a missing key, a conflicting option...). */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** A model name whose prefix (the text before the first `/`) no provider serves. */
export class UnknownModelPrefixError extends ConfigurationError {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownModelPrefixError';
  }
}

/** Input a provider cannot send (e.g. hosted tools or non-inline images to Ollama). */
export class UnsupportedModelInputError extends ConfigurationError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelInputError';
  }
}

/** A model server failed: the message names the host, the model and the cause. */
export class ModelProviderError extends Error {
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelProviderError';
    this.status = options.status;
  }
}

/** The server does not have the model (`ollama pull` it, or check its name). */
export class ModelNotFoundError extends ModelProviderError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ModelNotFoundError';
  }
}

/** No server answers at the host (not started, wrong address). */
export class ModelServerUnavailableError extends ModelProviderError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ModelServerUnavailableError';
  }
}
