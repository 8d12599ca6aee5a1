/** RunStateStore: the public store over a file, SQLite or Postgres backend. */
import { basename, resolve } from 'node:path';
import { Agent, RunState } from '@openai/agents';
import { ConfigurationError, RunNotFoundError } from '../errors.js';
import { type Json, type Language, toTypeScript } from '../translate/index.js';
import {
  checkDecision,
  editArguments,
  type DecisionKind,
  type DecisionOutcome,
  type DecisionRecord,
} from './decisions.js';
import { stateFacts } from './describe.js';
import { restoreState } from './restore.js';
import { defaultUrl, displayUrl, POSTGRES_URL, openSql } from './engine.js';
import { FileBackend } from './fileBackend.js';
import { checkFilter, type RunFilter } from './filters.js';
import {
  type Backend,
  checkStatus,
  type RunStatus,
  type RunSummary,
  type StoredState,
  jsSdkVersion,
} from './records.js';
import { SqlBackend } from './sqlBackend.js';

export interface SaveOptions {
  runId?: string;
  status?: RunStatus;
  expectedVersion?: number;
  metadata?: Json;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRunState = RunState<any, Agent<any, any>>;

/** A RunState, or a run result carrying one (`RunResult` / `StreamedRunResult`). */
export type Saveable = AnyRunState | { state: AnyRunState };

/** Where a state (or result) came from: the store target, run id and version it was loaded as. */
interface Origin {
  target: string;
  runId: string;
  version: number;
}

const origins = new WeakMap<object, Origin>();

/**
 * `state.toJSON()`, the SDK's own serialisation (the stored format), without stack traces for the
 * errors it throws and catches inside: checking a state's completed tool calls, the SDK tries each
 * earlier item and constructs (and discards) a `UserError` per mismatch, and capturing their stacks
 * was most of its cost (O(n^2) in the run's items: 6 ms -> 3 ms for a 20-turn run). The output is
 * the same. toJSON is synchronous, so no other code sees the lowered limit; when it does throw, it
 * runs again with stack traces, so the caller gets the SDK's error whole.
 */
export function serializeState(state: AnyRunState): Json {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return state.toJSON() as unknown as Json;
  } catch {
    // serialised again below, with stack traces
  } finally {
    Error.stackTraceLimit = limit;
  }
  return state.toJSON() as unknown as Json;
}

export interface RunStateStoreOptions {
  /** The run id used when a call gives none (a file store's default: the file's stem). */
  runId?: string;
  /** Keep only the newest N versions of a run on save (at least 1). */
  keepVersions?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;

function isAgent(value: unknown): value is AnyAgent {
  return (
    value instanceof Agent ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { asTool?: unknown }).asTool === 'function' &&
      typeof (value as { name?: unknown }).name === 'string')
  );
}

/** `limit` and `offset` of a run list: whole numbers >= 0 (`limit` may be absent). */
function checkPage(limit: unknown, offset: unknown): void {
  for (const [name, value] of [
    ['limit', limit],
    ['offset', offset],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ConfigurationError(`${name} must be a whole number >= 0, got ${String(value)}`);
    }
  }
}

/**
 * Persists RunStates as versioned rows shared with timestep's Python package.
 *
 * `new RunStateStore(target?, agent?, options?)`: `target` is a JSON file path (one run), a
 * `sqlite:///path.db` or a `postgresql://...` URL (default `$TIMESTEP_DB`, else
 * `sqlite:///timestep.db`); `agent` is used by `load()` when none is given there. The older form
 * `new RunStateStore(target, { runId })` still works.
 */
export class RunStateStore {
  /** The full target (file path, or URL including any password). */
  readonly target: string;
  readonly kind: 'file' | 'sqlite' | 'postgresql';
  readonly agent: AnyAgent | undefined;
  readonly runId: string | undefined;
  readonly keepVersions: number | undefined;
  private readonly backend: Backend;
  private readonly fileStem: string | undefined;

  constructor(
    target?: string,
    agentOrOptions?: AnyAgent | RunStateStoreOptions,
    options: RunStateStoreOptions = {},
  ) {
    const resolved = target ?? defaultUrl();
    const opts = isAgent(agentOrOptions) ? options : { ...(agentOrOptions ?? {}), ...options };
    this.agent = isAgent(agentOrOptions) ? agentOrOptions : undefined;
    if (opts.keepVersions !== undefined && !(opts.keepVersions >= 1)) {
      throw new ConfigurationError(`keepVersions must be at least 1, got ${opts.keepVersions}`);
    }
    this.target = resolved;
    this.runId = opts.runId;
    this.keepVersions = opts.keepVersions;
    if (resolved.startsWith('sqlite:') || POSTGRES_URL.test(resolved)) {
      const sql = openSql(resolved);
      this.kind = sql.dialect;
      this.backend = new SqlBackend(sql, displayUrl(resolved));
    } else if (resolved.includes('://')) {
      throw new ConfigurationError(
        `unsupported store target '${resolved}': use a .json file path, sqlite:///path.db or ` +
          'postgresql://user@host/db',
      );
    } else {
      this.kind = 'file';
      const path = resolve(resolved);
      this.fileStem = basename(path).replace(/\.[^.]*$/, '');
      this.backend = new FileBackend(path, opts.runId ?? this.fileStem);
    }
  }

  /** The store's target with any password hidden. */
  get url(): string {
    return this.kind === 'file' ? this.target : displayUrl(this.target);
  }

  private origin(obj: object | undefined): Origin | undefined {
    const origin = obj === undefined ? undefined : origins.get(obj);
    return origin && origin.target === this.target ? origin : undefined;
  }

  /** The given id, else the state's own run, else the store's `runId`, else a file's stem. */
  private runIdOf(runId: string | undefined, obj?: object): string {
    const id = runId ?? this.origin(obj)?.runId ?? this.runId ?? this.fileStem;
    if (!id) {
      throw new RunNotFoundError(
        `no run id given: pass runId (or new RunStateStore(target, agent, { runId })) for ${this.url}`,
      );
    }
    return id;
  }

  /**
   * Save a state (or a result's state) as the next version of its run. A state loaded from this
   * store, or a result resumed from one, is checked against the version it came from: if another
   * save happened since, `StaleStateError` is thrown and nothing is written.
   */
  async save(target: Saveable, options: SaveOptions = {}): Promise<StoredState> {
    if (typeof target !== 'object' || target === null) {
      throw new ConfigurationError(`save() takes a RunState or a run result, not ${String(target)}`);
    }
    const state: AnyRunState =
      target instanceof RunState ? target : (target as { state: AnyRunState }).state;
    if (!(state instanceof RunState)) {
      throw new ConfigurationError('save() takes a RunState or a run result (with a state)');
    }
    const runId = this.runIdOf(options.runId, state);
    const origin = this.origin(state) ?? this.origin(target);
    const expectedVersion =
      options.expectedVersion ?? (origin && origin.runId === runId ? origin.version : undefined);
    const json = serializeState(state);
    const saveArgs: { status?: RunStatus; expectedVersion?: number; metadata?: Json } = {};
    if (options.status !== undefined) saveArgs.status = options.status;
    if (expectedVersion !== undefined) saveArgs.expectedVersion = expectedVersion;
    if (options.metadata !== undefined) saveArgs.metadata = options.metadata;
    const stored = await this.saveJson(runId, json, {
      language: 'typescript',
      sdkVersion: jsSdkVersion(),
      ...saveArgs,
    });
    const after = { target: this.target, runId, version: stored.version };
    origins.set(state, after);
    if (target !== state) origins.set(target, after);
    return stored;
  }

  /** Store a state document as it is (either language); facts are read from the document. */
  async saveJson(
    runId: string,
    stateJson: Json,
    options: {
      language?: Language;
      sdkVersion?: string;
      status?: RunStatus;
      expectedVersion?: number;
      metadata?: Json;
    } = {},
  ): Promise<StoredState> {
    const facts = stateFacts(stateJson);
    const status = options.status ?? facts.status;
    checkStatus(status);
    return this.backend.append({
      runId,
      body: JSON.stringify(stateJson),
      language: options.language ?? facts.language,
      sdkVersion: options.sdkVersion ?? 'unknown',
      facts,
      status,
      expectedVersion: options.expectedVersion,
      metadata: options.metadata,
      keepVersions: this.keepVersions,
    });
  }

  /**
   * Give a new run its first row: `state` (its start) as version 0, `running` unless `status`.
   * Durable runs write it when their first segment starts, so a run is listed, shown, cancelled
   * and forked from its first step. Returns undefined and changes nothing when the run exists.
   */
  async createRun(
    state: AnyRunState,
    options: { runId: string; status?: RunStatus; metadata?: Json },
  ): Promise<StoredState | undefined> {
    const json = serializeState(state);
    const facts = stateFacts(json);
    const status = options.status ?? 'running';
    checkStatus(status);
    const stored = await this.backend.create({
      runId: options.runId,
      body: JSON.stringify(json),
      language: 'typescript',
      sdkVersion: jsSdkVersion(),
      facts,
      status,
      expectedVersion: undefined,
      metadata: options.metadata,
      keepVersions: undefined,
    });
    if (stored) origins.set(state, { target: this.target, runId: options.runId, version: 0 });
    return stored;
  }

  /** The stored row (latest version unless `version`), with its JSON, untranslated. */
  async get(runId?: string, options: { version?: number } = {}): Promise<StoredState> {
    return this.backend.get(this.runIdOf(runId), options.version);
  }

  /**
   * Rebuild the SDK's RunState of `runId` (latest version unless `version`) for `agent` (default:
   * the constructor's agent); states written by Python are translated to the JS format. The agent
   * graph must contain the state's current agent and pending tools, else `StateMismatchError`
   * says which.
   */
  async load(
    runId?: string,
    agent?: AnyAgent,
    options: { version?: number } = {},
  ): Promise<AnyRunState> {
    const target = agent ?? this.agent;
    if (target === undefined) {
      throw new ConfigurationError('load() needs the agent: pass it here or to new RunStateStore()');
    }
    const stored = await this.get(runId, options);
    const json = stored.language === 'python' ? toTypeScript(stored.stateJson ?? {}) : stored.stateJson;
    const state = await restoreState(json ?? {}, target);
    origins.set(state, { target: this.target, runId: stored.runId, version: stored.version });
    return state;
  }

  /**
   * Runs with their latest facts, most recently updated first. Filters (all given ones apply):
   * `status`, `agent` (exact agent name), `updatedSince` (updated at or after: an ISO-8601 date
   * or time, or a Date) and `search` (run ids containing it, ignoring case). `limit` (at most that
   * many) and `offset` (skip that many first) page through the list. Filters and page are applied
   * in the database: no run outside the page is read into JS (a rare `search` match still walks
   * the newest runs until the page is full), as Python's
   * `list_runs(status=, agent=, updated_since=, search=, limit=, offset=)`.
   */
  async listRuns(
    options: RunFilter & { limit?: number; offset?: number } = {},
  ): Promise<RunSummary[]> {
    checkPage(options.limit, options.offset);
    return this.backend.listRuns(checkFilter(options), {
      limit: options.limit,
      offset: options.offset,
    });
  }

  /** How many runs the filters of `listRuns` cover: the total behind its pages (one count). */
  async countRuns(options: RunFilter = {}): Promise<number> {
    return this.backend.countRuns(checkFilter(options));
  }

  /**
   * A cheap value that changes whenever a run or a decision is written: in a database the
   * store's change counter (one row, bumped by every write of either language).
   */
  async changeMarker(): Promise<string | number | null> {
    return this.backend.changeMarker();
  }

  /** Kept versions of a run, oldest first, without bodies. */
  async versions(runId?: string): Promise<StoredState[]> {
    return this.backend.versions(this.runIdOf(runId));
  }

  /** Change a run's status without a new version, merging `options.metadata` into its metadata. */
  async setStatus(
    runId: string,
    status: RunStatus,
    options: { metadata?: Json } = {},
  ): Promise<void> {
    checkStatus(status);
    await this.backend.setStatus(runId, status, options.metadata);
  }

  /** Remove a run with all its versions (and, in a database, its decisions). */
  async delete(runId?: string): Promise<void> {
    await this.backend.delete(this.runIdOf(runId));
  }

  /** The latest facts of one run (its status may differ from its latest version's). */
  async run(runId: string): Promise<RunSummary> {
    return this.backend.run(runId);
  }

  /**
   * Record a decision on a pending call of a waiting run (who, when, why); `callId` undefined
   * names the run's only undecided call. `arguments` (an `approve` only): the edited arguments
   * the tool runs with, an object or a JSON object's text (`ConfigurationError` otherwise); the
   * record keeps them and the model's. `output` (an `answer` only, required there): the text the
   * model gets as the tool's output. Checked and written atomically: `RunNotFoundError`,
   * `RunNotWaitingError`, `UnknownCallError`, `ApprovalError` (several undecided calls, none
   * named) or `ApprovalAlreadyDecidedError` (saying who decided and when) leave the store
   * unchanged. File stores keep no decisions (`ConfigurationError`).
   */
  async decide(
    runId: string,
    callId: string | undefined,
    decision: DecisionKind,
    options: {
      always?: boolean;
      reason?: string | null;
      decidedBy?: string | null;
      arguments?: Record<string, unknown> | string | null;
      output?: string | null;
    } = {},
  ): Promise<DecisionOutcome> {
    const always = options.always ?? false;
    const edited =
      options.arguments === undefined || options.arguments === null
        ? null
        : editArguments(options.arguments);
    const output = options.output ?? null;
    checkDecision(decision, always, edited, output);
    return this.backend.decide({
      runId,
      callId,
      decision,
      always,
      reason: options.reason ?? null,
      decidedBy: options.decidedBy ?? null,
      arguments: edited,
      output,
    });
  }

  /** Recorded decisions of one run (or all runs; of one version), oldest first. */
  async decisions(runId?: string, options: { version?: number } = {}): Promise<DecisionRecord[]> {
    return this.backend.decisions(runId, options.version);
  }

  /**
   * Flip `runId` from `status` (at `version`) to running; true for whoever did. Of racing
   * callers exactly one gets true.
   */
  async claim(runId: string, version: number, status: RunStatus = 'waiting'): Promise<boolean> {
    return this.backend.claim(runId, version, status);
  }

  /** Mark the run running (if still waiting at `version`) and return that version's decisions. */
  async claimDecisions(runId: string, version: number): Promise<DecisionRecord[]> {
    return this.backend.claimDecisions(runId, version);
  }

  /** Waiting runs whose every pending call has a recorded decision. */
  async readyToResume(): Promise<string[]> {
    return this.backend.readyToResume();
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}


/** Remember which stored version a state came from (runAgent carries it to the result). */
export function inheritStoredVersion(from: object, to: object): void {
  const remembered = origins.get(from);
  if (remembered) origins.set(to, remembered);
}

/** Where `obj` (a state or result) was loaded from or last saved, if known. */
export function originOf(obj: object): { runId: string; version: number } | undefined {
  return origins.get(obj);
}
