/** The store's backend on SQLite or Postgres: the same rows Python writes. */
import type { Json, Language } from '../translate/index.js';
import type { Row, Sql } from './engine.js';
import {
  CorruptStateError,
  RunNotFoundError,
  RunNotWaitingError,
  StaleStateError,
} from '../errors.js';
import {
  allDecided,
  alreadyDecided,
  chooseCall,
  type DecideArgs,
  type DecisionKind,
  type DecisionOutcome,
  type DecisionRecord,
} from './decisions.js';
import {
  type AppendArgs,
  type Backend,
  type Page,
  type PendingApproval,
  type RunStatus,
  type RunSummary,
  type StoredState,
  pendingToRow,
  utcNow,
} from './records.js';
import { mergedMetadata, metadataColumn, pendingColumn, pendingFromRow } from './decode.js';
import { bodyChecksum, ensureSchema } from './schema.js';
import { type CheckedRunFilter, containsPattern } from './filters.js';
import { appendVersion, createRun, isDataException } from './pgWrites.js';

/**
 * Bumps the store's change counter (revision 0004): the last statement of every write
 * transaction, as in Python, so a reader's change marker moves when the change is visible.
 */
const BUMP = 'UPDATE timestep_changes SET counter = counter + 1 WHERE id = 1';
/**
 * On Postgres a version's INSERT carries the bump as a data-modifying CTE (run to completion with
 * the INSERT, in its transaction, after the run row was locked): one round trip less per write,
 * as in Python. SQLite has no data-modifying CTE: it runs `BUMP` after the INSERT.
 */
const WITH_BUMP = `WITH bump AS (${BUMP}) `;

const STATE_META = `run_id, version, language, sdk_version, schema_version, agent_name, status,
  pending_approvals, created_at, state_sha256`;

/** Metadata as stored: JSON text, or NULL when empty (as Python writes it). */
function metadataText(metadata: Json): string | null {
  return Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null;
}

function parseBody(row: Row): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(String(row.state_json));
  } catch (error) {
    throw new CorruptStateError(
      `run '${String(row.run_id)}' version ${String(row.version)}: stored state is not valid ` +
        `JSON (${(error as Error).message})`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CorruptStateError(
      `run '${String(row.run_id)}' version ${String(row.version)}: stored state is not a JSON object`,
    );
  }
  const recorded = row.state_sha256;
  if (recorded !== null && recorded !== undefined && recorded !== bodyChecksum(String(row.state_json))) {
    throw new CorruptStateError(
      `run '${String(row.run_id)}' version ${String(row.version)}: the stored state does not ` +
        'match its checksum: it was changed outside timestep or damaged',
    );
  }
  return doc as Json;
}

function storedOf(row: Row, withBody: boolean): StoredState {
  return {
    runId: String(row.run_id),
    version: Number(row.version),
    language: String(row.language) as Language,
    sdkVersion: String(row.sdk_version),
    schemaVersion: String(row.schema_version),
    agentName: String(row.agent_name),
    status: String(row.status) as RunStatus,
    pendingApprovals: pendingFromRow(
      row.pending_approvals,
      `run '${String(row.run_id)}' version ${String(row.version)}: pending_approvals column`,
    ),
    stateJson: withBody ? parseBody(row) : null,
    createdAt: String(row.created_at),
  };
}

function decisionOf(row: Row): DecisionRecord {
  return {
    runId: String(row.run_id),
    callId: String(row.call_id),
    toolName: String(row.tool_name),
    decision: String(row.decision) as DecisionKind,
    always: Boolean(row.always),
    reason: row.reason === null || row.reason === undefined ? null : String(row.reason),
    decidedBy: row.decided_by === null || row.decided_by === undefined ? null : String(row.decided_by),
    decidedAt: String(row.decided_at),
    stateVersion: Number(row.state_version),
    arguments: textOrNull(row.arguments),
    originalArguments: textOrNull(row.original_arguments),
    output: textOrNull(row.output),
  };
}

const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

function summaryOf(row: Row): RunSummary {
  const problems: string[] = [];
  let pendingApprovals: PendingApproval[] = [];
  let metadata: Json = {};
  try {
    pendingApprovals = pendingColumn(row.pending_approvals, 'it');
  } catch (error) {
    problems.push(`pending_approvals column is unreadable (${(error as Error).message})`);
  }
  try {
    metadata = metadataColumn(row.metadata, 'it');
  } catch (error) {
    problems.push(`metadata column is unreadable (${(error as Error).message})`);
  }
  const summary: RunSummary = {
    runId: String(row.run_id),
    agentName: String(row.agent_name),
    status: String(row.status) as RunStatus,
    latestVersion: Number(row.latest_version),
    language: String(row.language) as Language,
    pendingApprovals,
    metadata,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
  if (problems.length > 0) summary.problem = problems.join('; ');
  return summary;
}

/**
 * The WHERE clause of a run filter (empty without one), its values appended to `params`. `search`
 * is lowered on both sides in SQL, as Python's `icontains`; `updated_at` is compared as text.
 */
function whereOf(filter: CheckedRunFilter, params: unknown[]): string {
  const clauses: string[] = [];
  const add = (value: unknown, clause: (param: string) => string): void => {
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  if (filter.status !== undefined) add(filter.status, (p) => `status = ${p}`);
  if (filter.agent !== undefined) add(filter.agent, (p) => `agent_name = ${p}`);
  if (filter.updatedSince !== undefined) add(filter.updatedSince, (p) => `updated_at >= ${p}`);
  if (filter.search !== undefined) {
    add(containsPattern(filter.search), (p) => `lower(run_id) LIKE lower(${p}) ESCAPE '\\'`);
  }
  return clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '';
}

/** A unique-constraint violation from either driver. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Insert one version row and bump the change counter (after the run row was written; on Postgres
 * inside the INSERT), as Python's `_insert_version`; the stored row without its body.
 */
async function insertVersion(
  tx: Sql,
  args: AppendArgs,
  version: number,
  pending: string,
  now: string,
): Promise<StoredState> {
  const bumped = tx.dialect === 'postgresql';
  await tx.query(
    `${bumped ? WITH_BUMP : ''}INSERT INTO timestep_run_states (run_id, version, language,
       sdk_version, schema_version, agent_name, status, pending_approvals, state_json,
       created_at, state_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [args.runId, version, args.language, args.sdkVersion, args.facts.schemaVersion,
      args.facts.agentName, args.status, pending, args.body, now, bodyChecksum(args.body)],
  );
  if (!bumped) await tx.query(BUMP);
  return written(args, version, now);
}

/** The row of version `version` just written from `args`, without its body. */
function written(args: AppendArgs, version: number, now: string): StoredState {
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
}

export class SqlBackend implements Backend {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    /** The store's URL with any password hidden (for messages). */
    readonly url: string,
  ) {}

  private ensureSchema(): Promise<void> {
    this.ready ??= ensureSchema(this.sql);
    return this.ready;
  }

  async append(args: AppendArgs): Promise<StoredState> {
    await this.ensureSchema();
    if (
      this.sql.dialect === 'postgresql' &&
      args.expectedVersion !== undefined &&
      args.keepVersions === undefined
    ) {
      // One autocommit statement (a pool query, outside any transaction); when it wrote nothing
      // the transactional path below raises the precise error or keeps unreadable metadata.
      const now = utcNow();
      let version: number | undefined;
      try {
        version = await appendVersion(this.sql, args, now, args.expectedVersion);
      } catch (error) {
        if (!isDataException(error)) throw error; // stored metadata that is no JSON
      }
      if (version !== undefined) return written(args, version, now);
    }
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
            metadataText(metadata), now, args.runId],
        );
      } else {
        await tx.query(
          `INSERT INTO timestep_runs (run_id, agent_name, status, latest_version, language,
             pending_approvals, metadata, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [args.runId, args.facts.agentName, args.status, version, args.language, pending,
            metadataText(metadata), now, now],
        );
      }
      const stored = await insertVersion(tx, args, version, pending, now);
      if (args.keepVersions !== undefined) {
        await tx.query('DELETE FROM timestep_run_states WHERE run_id = $1 AND version <= $2', [
          args.runId,
          version - args.keepVersions,
        ]);
      }
      return stored;
    });
  }

  async create(args: AppendArgs): Promise<StoredState | undefined> {
    await this.ensureSchema();
    if (this.sql.dialect === 'postgresql') {
      const now = utcNow();
      return (await createRun(this.sql, args, now)) ? written(args, 0, now) : undefined;
    }
    return this.sql.transaction(async (tx) => {
      const now = utcNow();
      const pending = pendingToRow(args.facts.pendingApprovals);
      const created = await tx.query(
        `INSERT INTO timestep_runs (run_id, agent_name, status, latest_version, language,
           pending_approvals, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id) DO NOTHING RETURNING run_id`,
        [args.runId, args.facts.agentName, args.status, args.language, pending,
          metadataText(args.metadata ?? {}), now, now],
      );
      if (created.length === 0) return undefined;
      return insertVersion(tx, args, 0, pending, now);
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
    if (!row) return this.raiseMissing(runId, version);
    return storedOf(row, true);
  }

  private async raiseMissing(runId: string, version: number | undefined): Promise<never> {
    const known = await this.sql.query('SELECT run_id FROM timestep_runs WHERE run_id = $1', [runId]);
    if (known.length === 0) throw new RunNotFoundError(`no run '${runId}' in ${this.url}`);
    const kept = await this.sql.query(
      'SELECT version FROM timestep_run_states WHERE run_id = $1 ORDER BY version',
      [runId],
    );
    throw new RunNotFoundError(
      `run '${runId}' has no version ${String(version)} (kept versions: ` +
        `${kept.map((r) => String(r.version)).join(', ') || 'none'})`,
    );
  }

  async versions(runId: string): Promise<StoredState[]> {
    await this.ensureSchema();
    const rows = await this.sql.query(
      `SELECT ${STATE_META} FROM timestep_run_states WHERE run_id = $1 ORDER BY version`,
      [runId],
    );
    if (rows.length === 0) return this.raiseMissing(runId, undefined);
    return rows.map((row) => storedOf(row, false));
  }

  async listRuns(filter: CheckedRunFilter, page: Page = {}): Promise<RunSummary[]> {
    await this.ensureSchema();
    const params: unknown[] = [];
    let query = `SELECT * FROM timestep_runs${whereOf(filter, params)} ORDER BY updated_at DESC`;
    // The page is cut by the database (reading the updated_at index in order), as in Python.
    if (page.limit !== undefined) {
      params.push(page.limit);
      query += ` LIMIT $${params.length}`;
    } else if (page.offset && this.sql.dialect === 'sqlite') {
      query += ' LIMIT -1'; // SQLite takes OFFSET only after a LIMIT
    }
    if (page.offset) {
      params.push(page.offset);
      query += ` OFFSET $${params.length}`;
    }
    return (await this.sql.query(query, params)).map(summaryOf);
  }

  /** How many runs the filter covers: one `count(*)`, no rows read into JS. */
  async countRuns(filter: CheckedRunFilter): Promise<number> {
    await this.ensureSchema();
    const params: unknown[] = [];
    const rows = await this.sql.query(
      `SELECT count(*) AS n FROM timestep_runs${whereOf(filter, params)}`,
      params,
    );
    return Number((rows[0] as { n: number | string | bigint }).n);
  }

  /** The store's change counter: one primary-key read, whatever the store's size. */
  async changeMarker(): Promise<number | null> {
    await this.ensureSchema();
    const rows = await this.sql.query('SELECT counter FROM timestep_changes WHERE id = 1');
    return rows.length > 0 ? Number(rows[0]!.counter) : null;
  }

  async setStatus(runId: string, status: RunStatus, metadata?: Json): Promise<void> {
    await this.ensureSchema();
    await this.sql.transaction(async (tx) => {
      const lock = tx.dialect === 'postgresql' ? ' FOR UPDATE' : '';
      const rows = await tx.query(
        `SELECT metadata FROM timestep_runs WHERE run_id = $1${lock}`,
        [runId],
      );
      if (rows.length === 0) throw new RunNotFoundError(`no run '${runId}' in ${this.url}`);
      const merged = mergedMetadata(rows[0]!.metadata, metadata);
      await tx.query(
        'UPDATE timestep_runs SET status = $1, metadata = $2, updated_at = $3 WHERE run_id = $4',
        [status, metadataText(merged), utcNow(), runId],
      );
      await tx.query(BUMP);
    });
  }

  async delete(runId: string): Promise<void> {
    await this.ensureSchema();
    await this.sql.transaction(async (tx) => {
      const known = await tx.query('SELECT run_id FROM timestep_runs WHERE run_id = $1', [runId]);
      if (known.length === 0) throw new RunNotFoundError(`no run '${runId}' in ${this.url}`);
      await tx.query('DELETE FROM timestep_approvals WHERE run_id = $1', [runId]);
      await tx.query('DELETE FROM timestep_run_states WHERE run_id = $1', [runId]);
      await tx.query('DELETE FROM timestep_runs WHERE run_id = $1', [runId]);
      await tx.query(BUMP);
    });
  }

  async run(runId: string): Promise<RunSummary> {
    await this.ensureSchema();
    const rows = await this.sql.query('SELECT * FROM timestep_runs WHERE run_id = $1', [runId]);
    if (rows.length === 0) throw new RunNotFoundError(`no run '${runId}' in ${this.url}`);
    return summaryOf(rows[0]!);
  }

  private async decisionsIn(tx: Sql, runId: string, version: number): Promise<DecisionRecord[]> {
    const rows = await tx.query(
      'SELECT * FROM timestep_approvals WHERE run_id = $1 AND state_version = $2 ORDER BY id',
      [runId, version],
    );
    return rows.map(decisionOf);
  }

  /** Record a decision under the run row's write lock; the rules of `chooseCall` apply. */
  async decide(args: DecideArgs): Promise<DecisionOutcome> {
    await this.ensureSchema();
    const { runId } = args;
    let raced: { callId: string; version: number } | undefined;
    try {
      return await this.sql.transaction(async (tx) => {
        const lock = tx.dialect === 'postgresql' ? ' FOR UPDATE' : '';
        const rows = await tx.query(
          `SELECT status, latest_version, pending_approvals FROM timestep_runs
           WHERE run_id = $1${lock}`,
          [runId],
        );
        const row = rows[0];
        if (!row) throw new RunNotFoundError(`no run '${runId}' in ${this.url}`);
        if (row.status !== 'waiting') {
          throw new RunNotWaitingError(
            `run '${runId}' is ${String(row.status)}, not waiting for a decision`,
          );
        }
        const version = Number(row.latest_version);
        const pending = pendingFromRow(row.pending_approvals);
        const decided = await this.decisionsIn(tx, runId, version);
        const entry = chooseCall(runId, pending, decided, args.callId);
        const record: DecisionRecord = {
          runId,
          callId: entry.callId,
          toolName: entry.toolName,
          decision: args.decision,
          always: args.always,
          reason: args.reason,
          decidedBy: args.decidedBy,
          decidedAt: utcNow(),
          stateVersion: version,
          arguments: args.arguments,
          originalArguments: args.arguments !== null ? entry.arguments : null,
          output: args.output,
        };
        await tx.query('UPDATE timestep_runs SET updated_at = $1 WHERE run_id = $2', [
          utcNow(),
          runId,
        ]);
        try {
          await tx.query(
            `INSERT INTO timestep_approvals (run_id, call_id, tool_name, decision, always,
               reason, decided_by, decided_at, state_version, arguments, original_arguments, output)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
            [runId, record.callId, record.toolName, record.decision, record.always,
              record.reason, record.decidedBy, record.decidedAt, version, record.arguments,
              record.originalArguments, record.output],
          );
        } catch (error) {
          if (isUniqueViolation(error)) raced = { callId: record.callId, version };
          throw error;
        }
        await tx.query(BUMP);
        return {
          record,
          allDecided: allDecided(pending, [...decided.map((d) => d.callId), record.callId]),
        };
      });
    } catch (error) {
      if (raced === undefined) throw error;
      // A racing writer decided the same call first (unique run_id, call_id, state_version).
      const { callId, version } = raced;
      const first = (await this.decisions(runId, version)).find((d) => d.callId === callId);
      if (first === undefined) throw error;
      throw alreadyDecided(first);
    }
  }

  async decisions(
    runId: string | undefined,
    version: number | undefined,
  ): Promise<DecisionRecord[]> {
    await this.ensureSchema();
    const where: string[] = [];
    const params: unknown[] = [];
    if (runId !== undefined) {
      params.push(runId);
      where.push(`run_id = $${params.length}`);
    }
    if (version !== undefined) {
      params.push(version);
      where.push(`state_version = $${params.length}`);
    }
    const clause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const rows = await this.sql.query(`SELECT * FROM timestep_approvals${clause} ORDER BY id`, params);
    return rows.map(decisionOf);
  }

  private static async claimIn(
    tx: Sql,
    runId: string,
    version: number,
    status: RunStatus,
  ): Promise<boolean> {
    const rows = await tx.query(
      `UPDATE timestep_runs SET status = 'running', updated_at = $1
       WHERE run_id = $2 AND status = $3 AND latest_version = $4 RETURNING run_id`,
      [utcNow(), runId, status, version],
    );
    if (rows.length === 0) return false;
    await tx.query(BUMP);
    return true;
  }

  async claim(runId: string, version: number, status: RunStatus): Promise<boolean> {
    await this.ensureSchema();
    return this.sql.transaction((tx) => SqlBackend.claimIn(tx, runId, version, status));
  }

  async claimDecisions(runId: string, version: number): Promise<DecisionRecord[]> {
    await this.ensureSchema();
    return this.sql.transaction(async (tx) => {
      await SqlBackend.claimIn(tx, runId, version, 'waiting');
      return this.decisionsIn(tx, runId, version);
    });
  }

  async readyToResume(): Promise<string[]> {
    await this.ensureSchema();
    const waiting = await this.sql.query(
      "SELECT run_id, latest_version, pending_approvals FROM timestep_runs WHERE status = 'waiting'",
    );
    const ready: string[] = [];
    for (const row of waiting) {
      const decided = await this.sql.query(
        'SELECT call_id FROM timestep_approvals WHERE run_id = $1 AND state_version = $2',
        [row.run_id, row.latest_version],
      );
      const calls = decided.map((r) => String(r.call_id));
      let pending: PendingApproval[];
      try {
        pending = pendingFromRow(row.pending_approvals);
      } catch {
        continue; // an unreadable row is listed with its problem, never resumed
      }
      if (allDecided(pending, calls)) ready.push(String(row.run_id));
    }
    return ready;
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}
