/**
 * A run's first row and a compare-and-set append on Postgres, each in one statement (Python's
 * `_pg_writes`).
 *
 * In a transaction each costs BEGIN, 2-3 statements and COMMIT; here each is one autocommit
 * statement of data-modifying CTEs: the run row is written (and locked) first, the version row is
 * inserted from its RETURNING, and the change counter is bumped last, in the lock order of every
 * other writer. One statement is atomic, so a failure changes nothing.
 *
 * An append answers `undefined` when it changed nothing: the run is missing, its latest version is
 * not the expected one, or its stored metadata is no JSON object (JSON of another type is left by
 * the WHERE; text that is no JSON fails the cast with a data exception, SQLSTATE class 22). The
 * caller then takes the transactional path, which raises the precise error or keeps the unreadable
 * metadata as before.
 */
import type { Json } from '../translate/index.js';
import type { Sql } from './engine.js';
import { type AppendArgs, pendingToRow } from './records.js';
import { bodyChecksum } from './schema.js';

// $1 run_id, $2 agent_name, $3 status, $4 language, $5 pending_approvals, $6 metadata, $7 now,
// $8 sdk_version, $9 schema_version, $10 state_json, $11 state_sha256 (and $12 expected).
const VERSION = `INSERT INTO timestep_run_states (run_id, version, language, sdk_version,
  schema_version, agent_name, status, pending_approvals, state_json, created_at, state_sha256)`;
const BUMP = `bump AS (UPDATE timestep_changes SET counter = counter + 1
  WHERE id = 1 AND EXISTS (SELECT 1 FROM version))`;

const CREATE = `WITH run AS (INSERT INTO timestep_runs (run_id, agent_name, status,
    latest_version, language, pending_approvals, metadata, created_at, updated_at)
  VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $7) ON CONFLICT (run_id) DO NOTHING RETURNING run_id),
version AS (${VERSION} SELECT run_id, 0, $4, $8, $9, $2, $3, $5, $10, $7, $11 FROM run
  RETURNING version), ${BUMP}
SELECT version FROM version`;

// `metadata` lays the new keys over the stored object (NULL or '' is none); without new keys it
// is left as it was ('' becomes NULL, as the transactional path writes an empty object).
const APPEND = `WITH run AS (UPDATE timestep_runs SET agent_name = $2, status = $3,
    latest_version = latest_version + 1, language = $4, pending_approvals = $5, updated_at = $7,
    metadata = CASE WHEN $6::text IS NULL THEN NULLIF(metadata, '')
      ELSE (COALESCE(NULLIF(metadata, '')::jsonb, '{}'::jsonb) || $6::jsonb)::text END
  WHERE run_id = $1 AND latest_version = $12
    AND (NULLIF(metadata, '') IS NULL OR jsonb_typeof(metadata::jsonb) = 'object')
  RETURNING latest_version),
version AS (${VERSION} SELECT $1, latest_version, $4, $8, $9, $2, $3, $5, $10, $7, $11 FROM run
  RETURNING version), ${BUMP}
SELECT version FROM version`;

function values(args: AppendArgs, now: string, metadata: Json | undefined): unknown[] {
  const extra = metadata !== undefined && Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null;
  return [
    args.runId,
    args.facts.agentName,
    args.status,
    args.language,
    pendingToRow(args.facts.pendingApprovals),
    extra,
    now,
    args.sdkVersion,
    args.facts.schemaVersion,
    args.body,
    bodyChecksum(args.body),
  ];
}

/** Write version 0 of `args.runId`; false (and no change) when the run already has a row. */
export async function createRun(sql: Sql, args: AppendArgs, now: string): Promise<boolean> {
  const rows = await sql.query(CREATE, values(args, now, args.metadata), 'timestep_create_run_v1');
  return rows.length > 0;
}

/** A data exception (SQLSTATE class 22), e.g. stored metadata the cast to jsonb refuses. */
export function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && code.startsWith('22');
}

/** Append the version after `expected`; its number, or undefined when nothing was written. */
export async function appendVersion(
  sql: Sql,
  args: AppendArgs,
  now: string,
  expected: number,
): Promise<number | undefined> {
  const rows = await sql.query(APPEND, [...values(args, now, args.metadata), expected], 'timestep_append_v1');
  return rows.length > 0 ? Number(rows[0]!.version) : undefined;
}
