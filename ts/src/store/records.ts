/** What the store returns (stored states, run summaries) and the rows' shared encodings. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import type { Json, Language } from '../translate/index.js';
import type { DecideArgs, DecisionOutcome, DecisionRecord } from './decisions.js';
import type { StateFacts } from './describe.js';
import type { CheckedRunFilter } from './filters.js';

export type RunStatus = 'running' | 'waiting' | 'done' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'waiting', 'done', 'failed', 'cancelled'];

/** `ConfigurationError` for a status that is none of `RUN_STATUSES` (Python's message). */
export function checkStatus(status: RunStatus): void {
  if (!RUN_STATUSES.includes(status)) {
    throw new ConfigurationError(
      `unknown status '${String(status)}'; use one of ${RUN_STATUSES.join(', ')}`,
    );
  }
}

export interface PendingApproval {
  callId: string;
  toolName: string;
  arguments: string;
  agentName: string;
}

export interface StoredState {
  runId: string;
  version: number;
  language: Language;
  sdkVersion: string;
  schemaVersion: string;
  agentName: string;
  status: RunStatus;
  pendingApprovals: PendingApproval[];
  stateJson: Json | null;
  createdAt: string;
}

export interface RunSummary {
  runId: string;
  agentName: string;
  status: RunStatus;
  latestVersion: number;
  language: Language;
  pendingApprovals: PendingApproval[];
  /** Free-form run metadata (e.g. `error` of a failed or cancelled run). */
  metadata: Json;
  createdAt: string;
  updatedAt: string;
  /** Why part of this run's row could not be read (its fields then hold empty defaults). */
  problem?: string;
}

let sdkVersion: string | undefined;

/**
 * The installed @openai/agents version (recorded as `sdk_version`): read from its package.json
 * once per process (the module loaded here cannot change while the process runs; resolving and
 * reading the file cost ~0.4 ms, paid twice per durable run before).
 */
export function jsSdkVersion(): string {
  sdkVersion ??= readSdkVersion();
  return sdkVersion;
}

function readSdkVersion(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@openai/agents'));
  for (let i = 0; i < 6; i += 1) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@openai/agents' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** ISO-8601 UTC with microseconds and a Z suffix, as the Python store writes. */
let lastMicros = 0;

/**
 * Current time as ISO-8601 UTC text with microseconds and a `Z` suffix (as Python's `utc_now`),
 * strictly increasing within the process: two writes in the same millisecond still list in the
 * order they happened ("most recently updated first").
 */
export function utcNow(): string {
  let micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}Z`;
}

export const pendingToRow = (p: PendingApproval[]): string =>
  JSON.stringify(
    p.map((a) => ({
      call_id: a.callId,
      tool_name: a.toolName,
      arguments: a.arguments,
      agent_name: a.agentName,
    })),
  );

export interface AppendArgs {
  runId: string;
  body: string;
  language: Language;
  sdkVersion: string;
  facts: StateFacts;
  status: RunStatus;
  expectedVersion: number | undefined;
  metadata: Json | undefined;
  /** Keep only the newest N versions of the run after this save. */
  keepVersions: number | undefined;
}

/** One page of a run list: at most `limit` runs after skipping `offset` (both >= 0). */
export interface Page {
  limit?: number;
  offset?: number;
}

export interface Backend {
  append(args: AppendArgs): Promise<StoredState>;
  /** Version 0 of a run without a row (expectedVersion/keepVersions unused); undefined if it has one. */
  create(args: AppendArgs): Promise<StoredState | undefined>;
  get(runId: string, version: number | undefined): Promise<StoredState>;
  /** Kept versions of a run, oldest first, without bodies. */
  versions(runId: string): Promise<StoredState[]>;
  /** The runs the filter covers, most recently updated first, one page of them. */
  listRuns(filter: CheckedRunFilter, page?: Page): Promise<RunSummary[]>;
  /** How many runs the filter covers, without reading them. */
  countRuns(filter: CheckedRunFilter): Promise<number>;
  /** A cheap value that changes whenever a run or a decision is written (null: nothing yet). */
  changeMarker(): Promise<string | number | null>;
  /** The latest facts of one run. */
  run(runId: string): Promise<RunSummary>;
  /** Record a decision on a waiting run's pending call, re-checked in one transaction. */
  decide(args: DecideArgs): Promise<DecisionOutcome>;
  /** Decisions of one run (or all runs; of one version), oldest first. */
  decisions(runId: string | undefined, version: number | undefined): Promise<DecisionRecord[]>;
  /** Flip a run in `status` at `version` to running; true for the caller that did. */
  claim(runId: string, version: number, status: RunStatus): Promise<boolean>;
  /** Mark the run running (if still waiting at `version`); that version's decisions. */
  claimDecisions(runId: string, version: number): Promise<DecisionRecord[]>;
  /** Waiting runs whose every pending call has a recorded decision. */
  readyToResume(): Promise<string[]>;
  setStatus(runId: string, status: RunStatus, metadata?: Json): Promise<void>;
  delete(runId: string): Promise<void>;
  close(): Promise<void>;
}
