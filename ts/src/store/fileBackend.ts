/** The store's backend on one JSON file holding one run's versions. */
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { ConfigurationError, CorruptStateError, RunNotFoundError, StaleStateError } from '../errors.js';
import type { Json, Language } from '../translate/index.js';
import type { DecisionOutcome, DecisionRecord } from './decisions.js';
import { checkedWrapper, jsonValue, pendingFromRow, textOf } from './decode.js';
import { stateFacts } from './describe.js';
import type { CheckedRunFilter } from './filters.js';
import {
  type AppendArgs,
  type Backend,
  type Page,
  type RunStatus,
  type RunSummary,
  type StoredState,
  pendingToRow,
  utcNow,
} from './records.js';

export const FILE_FORMAT = 'timestep.run_state_file';

export interface FileVersion {
  version: number;
  language: Language;
  sdk_version: string;
  schema_version: string;
  agent_name: string;
  status: RunStatus;
  pending_approvals: Json[];
  created_at: string;
  state: Json;
}

export interface FileDoc {
  format: string;
  run_id: string;
  status?: RunStatus;
  metadata: Json;
  created_at: string;
  updated_at?: string;
  versions: FileVersion[];
}

/** Whether a run passes the filter: a database's WHERE clause, in JS. */
function covers(filter: CheckedRunFilter, run: RunSummary): boolean {
  return (
    (filter.status === undefined || run.status === filter.status) &&
    (filter.agent === undefined || run.agentName === filter.agent) &&
    (filter.updatedSince === undefined || run.updatedAt >= filter.updatedSince) &&
    (filter.search === undefined || run.runId.toLowerCase().includes(filter.search.toLowerCase()))
  );
}

export class FileBackend implements Backend {
  constructor(
    private readonly path: string,
    private readonly defaultRunId: string,
  ) {}

  private read(): FileDoc | undefined {
    if (!existsSync(this.path)) return undefined;
    const where = `state file '${this.path}'`;
    const text = textOf(readFileSync(this.path), where);
    if (!text.trim()) throw new CorruptStateError(`${where} is empty`);
    const parsed = jsonValue(text, where);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CorruptStateError(`${where} is not a JSON object`);
    }
    const doc = parsed as Json;
    if (doc.format === FILE_FORMAT) return checkedWrapper(doc, where) as unknown as FileDoc;
    const facts = stateFacts(doc); // a bare SDK state file: version 1 of its run
    const now = utcNow();
    return {
      format: FILE_FORMAT,
      run_id: this.defaultRunId,
      metadata: {},
      created_at: now,
      versions: [
        {
          version: 1,
          language: facts.language,
          sdk_version: 'unknown',
          schema_version: facts.schemaVersion,
          agent_name: facts.agentName,
          status: facts.status,
          pending_approvals: JSON.parse(pendingToRow(facts.pendingApprovals)) as Json[],
          created_at: now,
          state: doc,
        },
      ],
    };
  }

  private write(doc: FileDoc): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.path);
  }

  private stored(entry: FileVersion, runId: string, withBody: boolean): StoredState {
    return {
      runId,
      version: entry.version,
      language: entry.language,
      sdkVersion: entry.sdk_version,
      schemaVersion: entry.schema_version,
      agentName: entry.agent_name,
      status: entry.status,
      pendingApprovals: pendingFromRow(JSON.stringify(entry.pending_approvals)),
      stateJson: withBody ? entry.state : null,
      createdAt: entry.created_at,
    };
  }

  private check(doc: FileDoc | undefined, runId: string): FileDoc {
    if (!doc) throw new RunNotFoundError(`no run '${runId}': state file ${this.path} does not exist`);
    if (doc.run_id !== runId) {
      throw new RunNotFoundError(`state file ${this.path} holds run '${doc.run_id}', not '${runId}'`);
    }
    if (doc.versions.length === 0) {
      throw new RunNotFoundError(`run '${runId}' has no versions left in state file ${this.path} (deleted)`);
    }
    return doc;
  }

  async append(args: AppendArgs): Promise<StoredState> {
    const doc = this.read();
    if (doc && doc.run_id !== args.runId) {
      throw new RunNotFoundError(
        `state file ${this.path} holds run '${doc.run_id}'; it cannot also hold run '${args.runId}'`,
      );
    }
    const versions = doc ? doc.versions : [];
    const latest = versions.length > 0 ? versions[versions.length - 1]!.version : 0;
    if (args.expectedVersion !== undefined && args.expectedVersion !== latest) {
      throw new StaleStateError(args.runId, args.expectedVersion, latest);
    }
    const now = utcNow();
    const entry: FileVersion = {
      version: latest + 1,
      language: args.language,
      sdk_version: args.sdkVersion,
      schema_version: args.facts.schemaVersion,
      agent_name: args.facts.agentName,
      status: args.status,
      pending_approvals: JSON.parse(pendingToRow(args.facts.pendingApprovals)) as Json[],
      created_at: now,
      state: JSON.parse(args.body) as Json,
    };
    this.write({
      format: FILE_FORMAT,
      run_id: args.runId,
      status: args.status,
      metadata: { ...(doc?.metadata ?? {}), ...(args.metadata ?? {}) },
      created_at: doc?.created_at ?? now,
      updated_at: now,
      versions:
        args.keepVersions === undefined
          ? [...versions, entry]
          : [...versions, entry].slice(-args.keepVersions),
    });
    return this.stored(entry, args.runId, false);
  }

  async create(args: AppendArgs): Promise<StoredState | undefined> {
    const doc = this.read();
    if (doc) {
      this.check(doc, args.runId);
      return undefined;
    }
    const now = utcNow();
    const entry: FileVersion = {
      version: 0,
      language: args.language,
      sdk_version: args.sdkVersion,
      schema_version: args.facts.schemaVersion,
      agent_name: args.facts.agentName,
      status: args.status,
      pending_approvals: JSON.parse(pendingToRow(args.facts.pendingApprovals)) as Json[],
      created_at: now,
      state: JSON.parse(args.body) as Json,
    };
    this.write({
      format: FILE_FORMAT,
      run_id: args.runId,
      status: args.status,
      metadata: { ...(args.metadata ?? {}) },
      created_at: now,
      updated_at: now,
      versions: [entry],
    });
    return this.stored(entry, args.runId, false);
  }

  async get(runId: string, version: number | undefined): Promise<StoredState> {
    const doc = this.check(this.read(), runId);
    const entry =
      version === undefined
        ? doc.versions[doc.versions.length - 1]
        : doc.versions.find((v) => v.version === version);
    if (!entry) {
      const kept = doc.versions.map((v) => String(v.version)).join(', ');
      throw new RunNotFoundError(
        `run '${runId}' has no version ${String(version)} (kept versions: ${kept})`,
      );
    }
    return this.stored(entry, runId, true);
  }

  async versions(runId: string): Promise<StoredState[]> {
    const doc = this.check(this.read(), runId);
    return doc.versions.map((entry) => this.stored(entry, runId, false));
  }

  /** The file's run, if any (and if the filter covers it), paged like a database's. */
  async listRuns(filter: CheckedRunFilter, page: Page = {}): Promise<RunSummary[]> {
    const found = this.fileRuns().filter((run) => covers(filter, run));
    const offset = page.offset ?? 0;
    return page.limit === undefined
      ? found.slice(offset)
      : found.slice(offset, offset + page.limit);
  }

  /** 1 when the file holds a run the filter covers, else 0. */
  async countRuns(filter: CheckedRunFilter): Promise<number> {
    return this.fileRuns().filter((run) => covers(filter, run)).length;
  }

  /** The file's modification time and size (null while it does not exist). */
  async changeMarker(): Promise<string | null> {
    if (!existsSync(this.path)) return null;
    const info = statSync(this.path, { bigint: true });
    return `${info.mtimeNs}:${info.size}`;
  }

  private fileRuns(): RunSummary[] {
    const doc = this.read();
    if (!doc || doc.versions.length === 0) return [];
    const latest = doc.versions[doc.versions.length - 1]!;
    const runStatus = doc.status ?? latest.status;
    return [
      {
        runId: doc.run_id,
        agentName: latest.agent_name,
        status: runStatus,
        latestVersion: latest.version,
        language: latest.language,
        pendingApprovals: pendingFromRow(JSON.stringify(latest.pending_approvals)),
        metadata: doc.metadata ?? {},
        createdAt: doc.created_at,
        updatedAt: doc.updated_at ?? latest.created_at,
      },
    ];
  }

  async setStatus(runId: string, status: RunStatus, metadata?: Json): Promise<void> {
    const doc = this.check(this.read(), runId);
    this.write({
      ...doc,
      status,
      metadata: { ...(doc.metadata ?? {}), ...(metadata ?? {}) },
      updated_at: utcNow(),
    });
  }

  /** Remove the file (only if it holds `runId`). */
  async delete(runId: string): Promise<void> {
    this.check(this.read(), runId);
    unlinkSync(this.path);
  }

  /** The latest facts of the file's run. */
  async run(runId: string): Promise<RunSummary> {
    const found = this.fileRuns().find((summary) => summary.runId === runId);
    if (found !== undefined) return found;
    this.check(this.read(), runId);
    throw new RunNotFoundError(`no run '${runId}' in ${this.path}`);
  }

  private noDecisions(): ConfigurationError {
    return new ConfigurationError(
      `store '${this.path}' is a file, not a database: decisions on pending calls need ` +
        'a SQLite or Postgres store',
    );
  }

  /** Refused: a file store keeps no decisions. */
  async decide(): Promise<DecisionOutcome> {
    throw this.noDecisions();
  }

  /** None: a file store keeps no decisions. */
  async decisions(): Promise<DecisionRecord[]> {
    return [];
  }

  async claim(): Promise<boolean> {
    throw this.noDecisions();
  }

  async claimDecisions(): Promise<DecisionRecord[]> {
    throw this.noDecisions();
  }

  /** None: a file store keeps no decisions. */
  async readyToResume(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}
