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

/** Base class of every error timestep raises on purpose. */
export class TimestepError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** The store's database or file is locked, missing or unreachable. */
export class StoreUnavailableError extends TimestepError {}

/** An approval or rejection cannot be applied (unknown call, already decided, ...). */
export class ApprovalError extends TimestepError {}

/** The tool call was already approved or rejected for this version of the run. */
export class ApprovalAlreadyDecidedError extends ApprovalError {}

/** The run is not waiting for a decision (already resumed, finished, or never paused). */
export class RunNotWaitingError extends ApprovalError {}

/** No pending approval with that call id exists in the run's waiting state. */
export class UnknownCallError extends ApprovalError {}

/** The durable run was cancelled or exceeded its timeout. */
export class RunCancelledError extends TimestepError {}

/**
 * The DBOS system database of durable TypeScript runs cannot be opened: an embedded PGlite
 * directory that is corrupt or not a database, or a Postgres that does not answer.
 * (TypeScript only: Python's system database on SQLite stores is a SQLite file.)
 */
export class SystemDatabaseError extends StoreUnavailableError {}

/** The embedded PGlite system database is in use by another live process (one process at a time). */
export class SystemDatabaseLockedError extends SystemDatabaseError {}
