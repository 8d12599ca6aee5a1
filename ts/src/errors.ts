/**
 * Every error timestep raises on purpose, under one `TimestepError` root: the same names and
 * parents as Python's `timestep._errors` (where Python lists two bases, the TypeScript class
 * extends the first; `tests/crosslang/test_crosslang_parity.py` checks the tree against Python's).
 */

/** Base class of every error timestep raises on purpose. */
export class TimestepError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A stored or given RunState cannot be used. */
export class StateError extends TimestepError {}

/** The state is not valid JSON or not a RunState document. */
export class CorruptStateError extends StateError {}

/** The state was written with a schema version this SDK cannot read. */
export class SchemaVersionError extends StateError {}

/** The state names agents or tools that the given agent graph does not have. */
export class StateMismatchError extends StateError {}

/** The state belongs to a run that already produced its final output. */
export class RunFinishedError extends StateError {}

/** No run (or no such version of a run) is stored under the given id. */
export class RunNotFoundError extends TimestepError {}

/** A save was based on an older version than the latest stored one. */
export class StaleStateError extends TimestepError {
  constructor(
    readonly runId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `run '${runId}': save was based on version ${expected}, but version ${actual} is already ` +
        'stored; load the latest state and apply your change again',
    );
  }
}

/** The store's database or file is locked, missing or unreachable. */
export class StoreUnavailableError extends TimestepError {}

/** The store's database is at a schema revision this timestep does not know (newer). */
export class StoreSchemaError extends TimestepError {}

/** An argument or environment setting is invalid. */
export class ConfigurationError extends TimestepError {}

/** An approval or rejection cannot be applied (unknown call, already decided, ...). */
export class ApprovalError extends TimestepError {}

/** The tool call was already approved or rejected for this version of the run. */
export class ApprovalAlreadyDecidedError extends ApprovalError {}

/** The run is not waiting for a decision (already resumed, finished, or never paused). */
export class RunNotWaitingError extends ApprovalError {}

/** No pending approval with that call id exists in the run's waiting state. */
export class UnknownCallError extends ApprovalError {}

/** A model name uses a provider prefix that no provider is registered for. */
export class UnknownModelPrefixError extends ConfigurationError {}

/** An input item, tool or setting that the chosen model provider cannot represent. */
export class UnsupportedModelInputError extends ConfigurationError {}

/** A model server failed: the message names the host, the model and the cause. */
export class ModelProviderError extends TimestepError {
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options);
    this.status = options.status;
  }
}

/** The server does not have the model (`ollama pull` it, or check its name). */
export class ModelNotFoundError extends ModelProviderError {}

/** No server answers at the host (not started, wrong address). */
export class ModelServerUnavailableError extends ModelProviderError {}

/** A state cannot be translated between the Python and TypeScript SDK formats. */
export class TranslationError extends StateError {}

/** The state uses a feature the Python <-> TypeScript translation does not cover. */
export class UnsupportedStateFeatureError extends TranslationError {
  readonly feature: string;
  readonly source: string;
  readonly target: string;
  constructor(feature: string, source: string, target: string, detail = '') {
    super(
      `cannot translate RunState feature '${feature}' from ${source} to ${target}` +
        (detail ? `: ${detail}` : '') +
        '; resume this run in the language that wrote it',
    );
    this.feature = feature;
    this.source = source;
    this.target = target;
  }
}

/** The state's `$schemaVersion` has no translation module. */
export class UnsupportedSchemaVersionError extends TranslationError {
  constructor(
    readonly schemaVersion: unknown,
    readonly language: 'python' | 'typescript',
    readonly supported: string[],
  ) {
    super(
      `no translation for ${language} RunState schema ${JSON.stringify(schemaVersion)}; ` +
        `supported ${language} schemas: ${supported.join(', ')}`,
    );
  }
}

/** The offline local model could not be built, downloaded, verified or started (Python only). */
export class LocalModelError extends TimestepError {}

/** A `local/` model name that is not one of the available local models. */
export class UnknownLocalModelError extends LocalModelError {}

/** The assembled local-model weights do not have the expected size or sha256. */
export class LocalModelChecksumError extends LocalModelError {}

/** A web search backend failed (HTTP error, timeout, bad key) or none is available. */
export class WebSearchError extends TimestepError {}

/** A recorded durable step failed with an error that cannot be rebuilt as its own class. */
export class DurableStepError extends TimestepError {
  readonly originalType: string;
  constructor(message: string, options: { originalType?: string; cause?: unknown } = {}) {
    super(message, options);
    this.originalType = options.originalType ?? '';
  }
}

/** The durable run was cancelled or exceeded its timeout. */
export class RunCancelledError extends TimestepError {}

/** The run exists but writes no durable stream (it was not started with `stream: true`). */
export class RunNotStreamedError extends TimestepError {}

/**
 * The DBOS system database of durable TypeScript runs cannot be opened: an embedded PGlite
 * directory that is corrupt or not a database, or a Postgres that does not answer.
 * (TypeScript only: Python's system database on SQLite stores is a SQLite file.)
 */
export class SystemDatabaseError extends StoreUnavailableError {}

/** The embedded PGlite system database is in use by another live process (one process at a time). */
export class SystemDatabaseLockedError extends SystemDatabaseError {}
