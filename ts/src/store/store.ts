/** RunStateStore: the public store over a file, SQLite or Postgres backend. */
import { resolve } from 'node:path';
import { RunState } from '@openai/agents';
import type { Agent } from '@openai/agents';
import { ConfigurationError } from '../errors.js';
import { type Json, type Language, toTypeScript } from '../translate/index.js';
import { stateFacts } from './describe.js';
import { POSTGRES_URL, openSql } from './engine.js';
import { FileBackend } from './fileBackend.js';
import {
  type Backend,
  RUN_STATUSES,
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

export const loadedVersions = new WeakMap<object, { runId: string; version: number }>();

/** Persists RunStates as versioned rows shared with timestep's Python package. */
export class RunStateStore {
  readonly url: string;
  readonly kind: 'file' | 'sqlite' | 'postgresql';
  private readonly backend: Backend;
  private readonly defaultRunId: string | undefined;

  constructor(target?: string, options: { runId?: string } = {}) {
    const resolved = target ?? process.env.TIMESTEP_DB ?? 'sqlite:///timestep.db';
    this.url = resolved;
    this.defaultRunId = options.runId;
    if (resolved.startsWith('sqlite:') || POSTGRES_URL.test(resolved)) {
      const sql = openSql(resolved);
      this.kind = sql.dialect;
      this.backend = new SqlBackend(sql);
    } else if (resolved.includes('://')) {
      throw new ConfigurationError(
        `unsupported store target '${resolved}': use a file path, sqlite:///path.db or postgresql://...`,
      );
    } else {
      this.kind = 'file';
      const path = resolve(resolved);
      const stem = path.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
      this.backend = new FileBackend(path, options.runId ?? stem);
    }
  }

  private runIdOf(runId: string | undefined): string {
    const id = runId ?? this.defaultRunId;
    if (!id) throw new ConfigurationError('no run id: pass runId or construct the store with one');
    return id;
  }

  /** Save a state (or a result's state) as the next version of its run. */
  async save(target: Saveable, options: SaveOptions = {}): Promise<StoredState> {
    const state: AnyRunState = 'state' in target && !(target instanceof RunState) ? target.state : (target as AnyRunState);
    const runId = options.runId ?? loadedVersions.get(state)?.runId ?? this.runIdOf(undefined);
    const remembered = loadedVersions.get(state);
    const expectedVersion =
      options.expectedVersion ?? (remembered && remembered.runId === runId ? remembered.version : undefined);
    const json = state.toJSON() as unknown as Json;
    const saveArgs: { status?: RunStatus; expectedVersion?: number; metadata?: Json } = {};
    if (options.status !== undefined) saveArgs.status = options.status;
    if (expectedVersion !== undefined) saveArgs.expectedVersion = expectedVersion;
    if (options.metadata !== undefined) saveArgs.metadata = options.metadata;
    const stored = await this.saveJson(runId, json, {
      language: 'typescript',
      sdkVersion: jsSdkVersion(),
      ...saveArgs,
    });
    loadedVersions.set(state, { runId, version: stored.version });
    return stored;
  }

  /** Store a state document as it is (either language). */
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
    if (!RUN_STATUSES.includes(status)) throw new ConfigurationError(`unknown status '${String(status)}'`);
    return this.backend.append({
      runId,
      body: JSON.stringify(stateJson),
      language: options.language ?? facts.language,
      sdkVersion: options.sdkVersion ?? 'unknown',
      facts,
      status,
      expectedVersion: options.expectedVersion,
      metadata: options.metadata,
    });
  }

  /** The stored row (latest version unless `version`), untranslated. */
  async get(runId?: string, options: { version?: number } = {}): Promise<StoredState> {
    return this.backend.get(this.runIdOf(runId), options.version);
  }

  /** A RunState for `agent`; states written by Python are translated to the JS format. */
  async load(
    runId: string | undefined,
    agent: Agent<any, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
    options: { version?: number } = {},
  ): Promise<AnyRunState> {
    const stored = await this.get(runId, options);
    const json = stored.language === 'python' ? toTypeScript(stored.stateJson ?? {}) : stored.stateJson;
    const state = (await RunState.fromString(agent, JSON.stringify(json))) as AnyRunState;
    loadedVersions.set(state, { runId: stored.runId, version: stored.version });
    return state;
  }

  async listRuns(options: { status?: RunStatus } = {}): Promise<RunSummary[]> {
    return this.backend.listRuns(options.status);
  }

  /** Change a run's status without a new version, merging `options.metadata` into its metadata. */
  async setStatus(
    runId: string,
    status: RunStatus,
    options: { metadata?: Json } = {},
  ): Promise<void> {
    await this.backend.setStatus(runId, status, options.metadata);
  }

  async delete(runId: string): Promise<void> {
    await this.backend.delete(runId);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** Remember which stored version a state came from (runAgent carries it to the result). */
export function inheritStoredVersion(from: object, to: object): void {
  const remembered = loadedVersions.get(from);
  if (remembered) loadedVersions.set(to, remembered);
}
