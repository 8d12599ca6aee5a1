/** timestep's tables (the same revision as Python's Alembic migrations) created or checked. */
import { createHash } from 'node:crypto';
import { StoreSchemaError } from '../errors.js';
import type { Sql } from './engine.js';

export const DDL = [
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
    arguments TEXT, original_arguments TEXT, output TEXT,
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

/** Alembic revisions of the shared schema this package can read and write. */
export const KNOWN_REVISIONS = ['0001', '0002', '0003', '0004', '0005'];
export const HEAD_REVISION = '0005';
/** Revision 0002: the SHA-256 of each state body (NULL for versions saved before). */
const ADD_CHECKSUM = 'ALTER TABLE timestep_run_states ADD COLUMN state_sha256 TEXT';
/** Revision 0003: runs by update time (all, and within a status), so lists do not sort the table. */
const HISTORY_INDEXES = [
  'CREATE INDEX ix_timestep_runs_updated ON timestep_runs (updated_at)',
  'CREATE INDEX ix_timestep_runs_status_updated ON timestep_runs (status, updated_at)',
];

/**
 * Revision 0004: the store's change counter, one row that every write transaction bumps (both
 * languages), so a change marker is one primary-key read at any size.
 */
const CHANGE_COUNTER = [
  `CREATE TABLE timestep_changes (id INTEGER NOT NULL, counter BIGINT NOT NULL,
    PRIMARY KEY (id))`,
  'INSERT INTO timestep_changes (id, counter) VALUES (1, 0)',
];

/** Revision 0005: an edited approval's arguments (and the model's), an answer's output. */
const DECISION_EDITS = [
  'ALTER TABLE timestep_approvals ADD COLUMN arguments TEXT',
  'ALTER TABLE timestep_approvals ADD COLUMN original_arguments TEXT',
  'ALTER TABLE timestep_approvals ADD COLUMN output TEXT',
];

/** SHA-256 (hex) of a state body's UTF-8 text, as stored in `state_sha256`. */
export function bodyChecksum(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
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
      if (revision === '0001') await tx.query(ADD_CHECKSUM);
      if (revision === '0001' || revision === '0002') {
        for (const statement of HISTORY_INDEXES) await tx.query(statement);
      }
      if (['0001', '0002', '0003'].includes(String(revision))) {
        for (const statement of CHANGE_COUNTER) await tx.query(statement);
      }
      if (revision !== HEAD_REVISION) {
        for (const statement of DECISION_EDITS) await tx.query(statement);
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
    for (const statement of [...DDL, ...HISTORY_INDEXES, ...CHANGE_COUNTER]) {
      await tx.query(statement.replace('%SERIAL%', serial));
    }
    await tx.query('INSERT INTO timestep_alembic_version (version_num) VALUES ($1)', [HEAD_REVISION]);
  });
}
