/**
 * RunStateStore: the same rows as timestep's Python store (docs/dev/contracts.md), behind one
 * URL-style target: a JSON file, `sqlite:///path.db` (better-sqlite3) or `postgresql://...` (pg).
 * States are stored in the writing SDK's own format with `language = 'typescript'`; rows written
 * by Python are translated on load.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { RunState } from '@openai/agents';
import type { Agent } from '@openai/agents';
import {
  CorruptStateError,
  detectLanguage,
  toTypeScript,
  type Json,
  type Language,
} from './translate.js';

export type RunStatus = 'running' | 'waiting' | 'done' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'waiting', 'done', 'failed', 'cancelled'];

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
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export class RunNotFoundError extends StoreError {
  constructor(message: string) {
    super(message);
    this.name = 'RunNotFoundError';
  }
}

export class StaleStateError extends StoreError {
  constructor(
    readonly runId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `run '${runId}': save was based on version ${expected}, but version ${actual} is already ` +
        'stored; load the latest state and apply your change again',
    );
    this.name = 'StaleStateError';
  }
}

/** The database was migrated by a newer timestep (a schema revision this package does not know). */
export class StoreSchemaError extends StoreError {
  constructor(message: string) {
    super(message);
    this.name = 'StoreSchemaError';
  }
}

/** Alembic revisions of the shared schema this package can read and write. */
export const KNOWN_REVISIONS = ['0001', '0002'];
const HEAD_REVISION = '0002';
/** Revision 0002: the SHA-256 of each state body (NULL for versions saved before). */
const ADD_CHECKSUM = 'ALTER TABLE timestep_run_states ADD COLUMN state_sha256 TEXT';

/** SHA-256 (hex) of a state body's UTF-8 text, as stored in `state_sha256`. */
export function bodyChecksum(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}
const FILE_FORMAT = 'timestep.run_state_file';

/** The installed @openai/agents version (recorded as `sdk_version`). */
export function jsSdkVersion(): string {
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
export function utcNow(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Facts {
  language: Language;
  schemaVersion: string;
  agentName: string;
  pendingApprovals: PendingApproval[];
  status: RunStatus;
}

function get(obj: unknown, ...keys: string[]): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  for (const key of keys) {
    if (key in obj) return (obj as Json)[key];
  }
  return undefined;
}

/** What a state document says about itself (either SDK's format). */
export function stateFacts(doc: Json): Facts {
  const schemaVersion = doc.$schemaVersion;
  if (typeof schemaVersion !== 'string') {
    throw new StoreError("not a RunState document: it has no string '$schemaVersion' field");
  }
  const agentName = get(get(doc, 'current_agent', 'currentAgent'), 'name');
  if (typeof agentName !== 'string') {
    throw new StoreError('not a RunState document: it names no current agent');
  }
  const step = get(doc, 'current_step', 'currentStep') as Json | undefined | null;
  const pendingApprovals: PendingApproval[] = [];
  if (step && step.type === 'next_step_interruption') {
    for (const item of (get(step.data, 'interruptions') as Json[] | undefined) ?? []) {
      const raw = (get(item, 'raw_item', 'rawItem') ?? {}) as Json;
      const args = get(raw, 'arguments');
      pendingApprovals.push({
        callId: String(get(raw, 'call_id', 'callId', 'id') ?? ''),
        toolName: String(get(item, 'tool_name', 'toolName') ?? get(raw, 'name') ?? ''),
        arguments: typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args),
        agentName: String(get(get(item, 'agent'), 'name') ?? ''),
      });
    }
  }
  const responses = (get(doc, 'model_responses', 'modelResponses') as unknown[] | undefined) ?? [];
  let status: RunStatus = 'running';
  if (pendingApprovals.length > 0) status = 'waiting';
  else if (step && step.type === 'next_step_final_output') status = 'done';
  else if ((step === null || step === undefined) && responses.length > 0) status = 'done';
  return { language: detectLanguage(doc), schemaVersion, agentName, pendingApprovals, status };
}

const pendingToRow = (p: PendingApproval[]): string =>
  JSON.stringify(
    p.map((a) => ({
      call_id: a.callId,
      tool_name: a.toolName,
      arguments: a.arguments,
      agent_name: a.agentName,
    })),
  );

const pendingFromRow = (text: unknown): PendingApproval[] =>
  (JSON.parse(String(text ?? '[]')) as Json[]).map((a) => ({
    callId: String(a.call_id),
    toolName: String(a.tool_name),
    arguments: String(a.arguments),
    agentName: String(a.agent_name),
  }));

interface AppendArgs {
  runId: string;
  body: string;
  language: Language;
  sdkVersion: string;
  facts: Facts;
  status: RunStatus;
  expectedVersion: number | undefined;
  metadata: Json | undefined;
}

/** A run's stored metadata (JSON text or NULL) with `extra` laid over it. */
function mergedMetadata(stored: unknown, extra: Json | undefined): Json {
  return { ...(stored ? (JSON.parse(String(stored)) as Json) : {}), ...(extra ?? {}) };
}

interface Backend {
  append(args: AppendArgs): Promise<StoredState>;
  get(runId: string, version: number | undefined): Promise<StoredState>;
  listRuns(status: RunStatus | undefined): Promise<RunSummary[]>;
  setStatus(runId: string, status: RunStatus, metadata?: Json): Promise<void>;
  delete(runId: string): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// SQL (shared by SQLite and Postgres)

const DDL = [
  `CREATE TABLE timestep_runs (run_id TEXT NOT NULL, agent_name TEXT NOT NULL, status TEXT NOT NULL,
    latest_version INTEGER NOT NULL, language TEXT NOT NULL, pending_approvals TEXT NOT NULL,
    metadata TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (run_id))`,
  `CREATE INDEX ix_timestep_runs_status ON timestep_runs (status)`,
  `CREATE TABLE timestep_run_states (run_id TEXT NOT NULL, version INTEGER NOT NULL,
    language TEXT NOT NULL, sdk_version TEXT NOT NULL, schema_version TEXT NOT NULL,
    agent_name TEXT NOT NULL, status TEXT NOT NULL, pending_approvals TEXT NOT NULL,
    state_json TEXT NOT NULL, created_at TEXT NOT NULL, state_sha256 TEXT,
    PRIMARY KEY (run_id, version),
    FOREIGN KEY(run_id) REFERENCES timestep_runs (run_id) ON DELETE CASCADE)`,
  `CREATE TABLE timestep_approvals (id %SERIAL%, run_id TEXT NOT NULL, call_id TEXT NOT NULL,
    tool_name TEXT NOT NULL, decision TEXT NOT NULL, always BOOLEAN NOT NULL, reason TEXT,
    decided_by TEXT, decided_at TEXT NOT NULL, state_version INTEGER NOT NULL,
    CONSTRAINT uq_timestep_approvals_decision UNIQUE (run_id, call_id, state_version))`,
  `CREATE INDEX ix_timestep_approvals_run ON timestep_approvals (run_id)`,
  `CREATE TABLE timestep_sessions (session_id VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL, PRIMARY KEY (session_id))`,
  `CREATE TABLE timestep_session_items (id %SERIAL%, session_id VARCHAR NOT NULL,
    message_data TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
    FOREIGN KEY(session_id) REFERENCES timestep_sessions (session_id) ON DELETE CASCADE)`,
  `CREATE INDEX idx_timestep_session_items_session_time ON timestep_session_items (session_id, created_at)`,
  `CREATE TABLE timestep_alembic_version (version_num VARCHAR(32) NOT NULL,
    CONSTRAINT timestep_alembic_version_pkc PRIMARY KEY (version_num))`,
];

export type Row = Record<string, unknown>;

/** Minimal SQL connection both drivers implement; `$1`-style placeholders. */
export interface Sql {
  dialect: 'sqlite' | 'postgresql';
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  /** Serializes this connection's work: better-sqlite3 has one transaction per connection. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The view handed to a transaction's body: queries run at once, inside the transaction. */
  readonly #inside: Sql;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly db: any) {
    const run = (sql: string, params?: unknown[]) => Promise.resolve().then(() => this.#run(sql, params));
    const inside: Sql = {
      dialect: 'sqlite',
      query: run,
      transaction: (fn) => fn(inside),
      close: () => this.close(),
    };
    this.#inside = inside;
  }

  #run(sql: string, params: unknown[] = []): Row[] {
    const text = sql.replace(/\$\d+/g, '?');
    const stmt = this.db.prepare(text);
    const values = params.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    if (stmt.reader) return stmt.all(...values) as Row[];
    stmt.run(...values);
    return [];
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.#exclusive(async () => this.#run(sql, params));
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#inside);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    this.db.close();
  }
}

class PgSql implements Sql {
  readonly dialect = 'postgresql' as const;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly client: any) {}

  async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    const result = await this.client.query(sql, params);
    return result.rows as Row[];
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const conn = await this.client.connect();
    const tx = new PgSql(conn);
    try {
      await conn.query('BEGIN');
      const result = await fn(tx);
      await conn.query('COMMIT');
      return result;
    } catch (error) {
      await conn.query('ROLLBACK');
      throw error;
    } finally {
      conn.release();
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Check the shared schema's revision, or create it (same revision id as Python's) if absent. */
export function ensureSchema(sql: Sql): Promise<void> {
  return sql.transaction(async (tx) => {
    const exists =
      tx.dialect === 'sqlite'
        ? await tx.query(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='timestep_alembic_version'",
          )
        : await tx.query("SELECT to_regclass('timestep_alembic_version') AS name");
    const present = exists.length > 0 && exists[0]!.name !== null;
    if (present) {
      if (tx.dialect === 'postgresql') await tx.query('SELECT pg_advisory_xact_lock(7201512)');
      const rows = await tx.query('SELECT version_num FROM timestep_alembic_version');
      const revision = rows[0]?.version_num;
      if (!KNOWN_REVISIONS.includes(String(revision))) {
        throw new StoreSchemaError(
          `database schema revision '${String(revision)}' is not one this package knows ` +
            `(${KNOWN_REVISIONS.join(', ')}): it was migrated by a newer timestep; ` +
            'upgrade @timestep-ai/timestep',
        );
      }
      if (revision === '0001') {
        await tx.query(ADD_CHECKSUM);
        await tx.query('UPDATE timestep_alembic_version SET version_num = $1', [HEAD_REVISION]);
      }
      return;
    }
    if (tx.dialect === 'postgresql') {
      await tx.query('SELECT pg_advisory_xact_lock(7201512)');
      const again = await tx.query("SELECT to_regclass('timestep_alembic_version') AS name");
      if (again[0]?.name !== null && again[0]?.name !== undefined) return;
    }
    const serial = tx.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'SERIAL PRIMARY KEY';
    for (const statement of DDL) await tx.query(statement.replace('%SERIAL%', serial));
    await tx.query('INSERT INTO timestep_alembic_version (version_num) VALUES ($1)', [HEAD_REVISION]);
  });
}

class SqlBackend implements Backend {
  private ready: Promise<void> | undefined;

  constructor(private readonly sql: Sql) {}

  private ensureSchema(): Promise<void> {
    this.ready ??= ensureSchema(this.sql);
    return this.ready;
  }

  async append(args: AppendArgs): Promise<StoredState> {
    await this.ensureSchema();
    return this.sql.transaction(async (tx) => {
      const lock = tx.dialect === 'postgresql' ? ' FOR UPDATE' : '';
      const rows = await tx.query(
        `SELECT latest_version, metadata FROM timestep_runs WHERE run_id = $1${lock}`,
        [args.runId],
      );
      const existing = rows[0];
      const latest = existing ? Number(existing.latest_version) : 0;
      if (args.expectedVersion !== undefined && args.expectedVersion !== latest) {
        throw new StaleStateError(args.runId, args.expectedVersion, latest);
      }
      const version = latest + 1;
      const now = utcNow();
      const pending = pendingToRow(args.facts.pendingApprovals);
      const metadata = mergedMetadata(existing?.metadata, args.metadata);
      if (existing) {
        await tx.query(
          `UPDATE timestep_runs SET agent_name = $1, status = $2, latest_version = $3,
             language = $4, pending_approvals = $5, metadata = $6, updated_at = $7
           WHERE run_id = $8`,
          [args.facts.agentName, args.status, version, args.language, pending,
            JSON.stringify(metadata), now, args.runId],
        );
      } else {
        await tx.query(
          `INSERT INTO timestep_runs (run_id, agent_name, status, latest_version, language,
             pending_approvals, metadata, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [args.runId, args.facts.agentName, args.status, version, args.language, pending,
            JSON.stringify(metadata), now, now],
        );
      }
      await tx.query(
        `INSERT INTO timestep_run_states (run_id, version, language, sdk_version, schema_version,
           agent_name, status, pending_approvals, state_json, created_at, state_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [args.runId, version, args.language, args.sdkVersion, args.facts.schemaVersion,
          args.facts.agentName, args.status, pending, args.body, now, bodyChecksum(args.body)],
      );
      return {
        runId: args.runId,
        version,
        language: args.language,
        sdkVersion: args.sdkVersion,
        schemaVersion: args.facts.schemaVersion,
        agentName: args.facts.agentName,
        status: args.status,
        pendingApprovals: args.facts.pendingApprovals,
        stateJson: null,
        createdAt: now,
      };
    });
  }

  async get(runId: string, version: number | undefined): Promise<StoredState> {
    await this.ensureSchema();
    const rows =
      version === undefined
        ? await this.sql.query(
            'SELECT * FROM timestep_run_states WHERE run_id = $1 ORDER BY version DESC LIMIT 1',
            [runId],
          )
        : await this.sql.query(
            'SELECT * FROM timestep_run_states WHERE run_id = $1 AND version = $2',
            [runId, version],
          );
    const row = rows[0];
    if (!row) {
      throw new RunNotFoundError(
        version === undefined ? `no run '${runId}'` : `run '${runId}' has no version ${version}`,
      );
    }
    const where = `run '${runId}' version ${String(row.version)}`;
    const body = String(row.state_json);
    let stateJson: Json;
    try {
      stateJson = JSON.parse(body) as Json;
    } catch (error) {
      throw new CorruptStateError(`${where}: stored state is not valid JSON: ${(error as Error).message}`);
    }
    if (row.state_sha256 !== null && row.state_sha256 !== undefined && row.state_sha256 !== bodyChecksum(body)) {
      throw new CorruptStateError(
        `${where}: the stored state does not match its checksum: it was changed outside timestep or damaged`,
      );
    }
    return {
      runId,
      version: Number(row.version),
      language: String(row.language) as Language,
      sdkVersion: String(row.sdk_version),
      schemaVersion: String(row.schema_version),
      agentName: String(row.agent_name),
      status: String(row.status) as RunStatus,
      pendingApprovals: pendingFromRow(row.pending_approvals),
      stateJson,
      createdAt: String(row.created_at),
    };
  }

  async listRuns(status: RunStatus | undefined): Promise<RunSummary[]> {
    await this.ensureSchema();
    const rows =
      status === undefined
        ? await this.sql.query('SELECT * FROM timestep_runs ORDER BY updated_at DESC')
        : await this.sql.query(
            'SELECT * FROM timestep_runs WHERE status = $1 ORDER BY updated_at DESC',
            [status],
          );
    return rows.map((row) => ({
      runId: String(row.run_id),
      agentName: String(row.agent_name),
      status: String(row.status) as RunStatus,
      latestVersion: Number(row.latest_version),
      language: String(row.language) as Language,
      pendingApprovals: pendingFromRow(row.pending_approvals),
      metadata: row.metadata ? (JSON.parse(String(row.metadata)) as Json) : {},
      createdAt: String(row.created_at),
      updatedAt: String(row.updated_at),
    }));
  }

  async setStatus(runId: string, status: RunStatus, metadata?: Json): Promise<void> {
    await this.ensureSchema();
    await this.sql.transaction(async (tx) => {
      const lock = tx.dialect === 'postgresql' ? ' FOR UPDATE' : '';
      const rows = await tx.query(
        `SELECT metadata FROM timestep_runs WHERE run_id = $1${lock}`,
        [runId],
      );
      if (rows.length === 0) throw new RunNotFoundError(`no run '${runId}'`);
      const merged = mergedMetadata(rows[0]!.metadata, metadata);
      await tx.query(
        'UPDATE timestep_runs SET status = $1, metadata = $2, updated_at = $3 WHERE run_id = $4',
        [status, Object.keys(merged).length ? JSON.stringify(merged) : null, utcNow(), runId],
      );
    });
  }

  async delete(runId: string): Promise<void> {
    await this.ensureSchema();
    await this.sql.transaction(async (tx) => {
      await tx.query('DELETE FROM timestep_run_states WHERE run_id = $1', [runId]);
      await tx.query('DELETE FROM timestep_runs WHERE run_id = $1', [runId]);
    });
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

// ---------------------------------------------------------------------------------------------
// file

interface FileVersion {
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

interface FileDoc {
  format: string;
  run_id: string;
  status?: RunStatus;
  metadata: Json;
  created_at: string;
  updated_at?: string;
  versions: FileVersion[];
}

class FileBackend implements Backend {
  constructor(
    private readonly path: string,
    private readonly defaultRunId: string,
  ) {}

  private read(): FileDoc | undefined {
    if (!existsSync(this.path)) return undefined;
    const doc = JSON.parse(readFileSync(this.path, 'utf8')) as Json;
    if (doc.format === FILE_FORMAT) return doc as unknown as FileDoc;
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
      versions: [...versions, entry],
    });
    return this.stored(entry, args.runId, false);
  }

  async get(runId: string, version: number | undefined): Promise<StoredState> {
    const doc = this.check(this.read(), runId);
    const entry =
      version === undefined
        ? doc.versions[doc.versions.length - 1]
        : doc.versions.find((v) => v.version === version);
    if (!entry) throw new RunNotFoundError(`run '${runId}' has no version ${String(version)}`);
    return this.stored(entry, runId, true);
  }

  async listRuns(status: RunStatus | undefined): Promise<RunSummary[]> {
    const doc = this.read();
    if (!doc || doc.versions.length === 0) return [];
    const latest = doc.versions[doc.versions.length - 1]!;
    const runStatus = doc.status ?? latest.status;
    if (status !== undefined && runStatus !== status) return [];
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

  async delete(runId: string): Promise<void> {
    const doc = this.check(this.read(), runId);
    this.write({ ...doc, versions: [] });
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// public store

const POSTGRES_URL = /^postgres(ql)?(\+\w+)?:\/\//;

/** True for the database URLs `openSql` accepts (`sqlite:///...`, `postgresql://...`). */
export function isSqlUrl(url: string): boolean {
  return url.startsWith('sqlite:') || POSTGRES_URL.test(url);
}

/** A connection for `sqlite:///path.db` (better-sqlite3) or `postgresql://...` (a pg Pool). */
export function openSql(url: string): Sql {
  if (url.startsWith('sqlite:')) {
    const path = url.replace(/^sqlite:\/\/\/?/, '');
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (path: string) => {
      pragma(text: string): unknown;
    };
    const db = new Database(path === '' ? ':memory:' : path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    return new SqliteSql(db);
  }
  if (POSTGRES_URL.test(url)) {
    const require = createRequire(import.meta.url);
    const pg = require('pg') as { Pool: new (config: { connectionString: string }) => unknown };
    const connectionString = url.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');
    return new PgSql(new pg.Pool({ connectionString }));
  }
  throw new StoreError(`'${url}' is not a database URL: use sqlite:///path.db or postgresql://...`);
}

export interface SaveOptions {
  runId?: string;
  status?: RunStatus;
  expectedVersion?: number;
  metadata?: Json;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRunState = RunState<any, Agent<any, any>>;

/** A RunState, or a run result carrying one (`RunResult` / `StreamedRunResult`). */
export type Saveable = AnyRunState | { state: AnyRunState };

const loadedVersions = new WeakMap<object, { runId: string; version: number }>();

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
      throw new StoreError(
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
    if (!id) throw new StoreError('no run id: pass runId or construct the store with one');
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
    if (!RUN_STATUSES.includes(status)) throw new StoreError(`unknown status '${String(status)}'`);
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
