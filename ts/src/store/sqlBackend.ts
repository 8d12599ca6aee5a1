/** The store's backend on SQLite or Postgres: the same rows Python writes. */
import { RunNotFoundError, StaleStateError } from '../errors.js';
import type { Json, Language } from '../translate/index.js';
import type { Sql } from './engine.js';
import {
  type AppendArgs,
  type Backend,
  type RunStatus,
  type RunSummary,
  type StoredState,
  mergedMetadata,
  pendingFromRow,
  pendingToRow,
  utcNow,
} from './records.js';
import { ensureSchema } from './schema.js';

export class SqlBackend implements Backend {
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
           agent_name, status, pending_approvals, state_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [args.runId, version, args.language, args.sdkVersion, args.facts.schemaVersion,
          args.facts.agentName, args.status, pending, args.body, now],
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
    return {
      runId,
      version: Number(row.version),
      language: String(row.language) as Language,
      sdkVersion: String(row.sdk_version),
      schemaVersion: String(row.schema_version),
      agentName: String(row.agent_name),
      status: String(row.status) as RunStatus,
      pendingApprovals: pendingFromRow(row.pending_approvals),
      stateJson: JSON.parse(String(row.state_json)) as Json,
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
