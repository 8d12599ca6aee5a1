/**
 * The heartbeat row of a TypeScript worker on a Postgres system database, so operators see it
 * beside Python's processes (`timestep workers`, the inbox's activity section).
 *
 * It is a row in Python's executor table `dbos.timestep_executors` (Python's
 * `timestep.durable._takeover` owns the table; the same columns, language `typescript`), renewed
 * every `TIMESTEP_EXECUTOR_HEARTBEAT` seconds (default 5) and valid for `TIMESTEP_EXECUTOR_LEASE`
 * (default 20), as Python's. A Python worker that finds it expired may delete it; it never
 * recovers TypeScript segments (they have their own DBOS application version). A worker that
 * stops cleanly deletes its row. On the embedded PGlite (SQLite and file stores) there is no row:
 * no other process can read that database while the worker runs.
 */
import { hostname } from 'node:os';
import { openSql, type Sql } from '../store/engine.js';
import { systemDatabaseFor } from './config.js';

const TABLE = 'dbos.timestep_executors';

const CREATE = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
    executor_id TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_seconds DOUBLE PRECISION NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    taken_by TEXT,
    taken_at TIMESTAMPTZ,
    language TEXT NOT NULL DEFAULT 'python',
    worker BOOLEAN NOT NULL DEFAULT false
)`;

const BEAT = `
INSERT INTO ${TABLE} (executor_id, lease_seconds, host, pid, language, worker)
VALUES ($1, $2, $3, $4, 'typescript', true)
ON CONFLICT (executor_id) DO UPDATE SET
    heartbeat_at = now(), lease_seconds = EXCLUDED.lease_seconds, host = EXCLUDED.host,
    pid = EXCLUDED.pid, language = 'typescript', worker = true, taken_by = NULL, taken_at = NULL`;

function seconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? '');
  return process.env[name] && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Stops the heartbeat and deletes the row. */
export type StopLease = () => Promise<void>;

/**
 * Take out this worker's heartbeat row on `storeUrl`'s Postgres system database and renew it in
 * the background; resolves to the function that stops it. A database that refuses is reported on
 * stderr once and the worker runs on without a row.
 */
export async function startLease(storeUrl: string, executorId: string): Promise<StopLease> {
  const system = systemDatabaseFor(storeUrl);
  if (system.kind !== 'postgres') return async () => {};
  const heartbeat = seconds('TIMESTEP_EXECUTOR_HEARTBEAT', 5);
  const lease = Math.max(seconds('TIMESTEP_EXECUTOR_LEASE', 20), 2 * heartbeat);
  const values = [executorId, lease, hostname(), process.pid];
  let sql: Sql | undefined;
  try {
    sql = openSql(system.url);
    const db = sql;
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [TABLE]);
      await tx.query(CREATE);
      await tx.query(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS language TEXT NOT NULL DEFAULT 'python'`);
      await tx.query(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS worker BOOLEAN NOT NULL DEFAULT false`);
    });
    await db.query(BEAT, values);
  } catch (error) {
    process.stderr.write(`timestep: the worker's heartbeat row is unavailable: ${String(error)}\n`);
    await sql?.close().catch(() => {});
    return async () => {};
  }
  const db = sql;
  let warned = false;
  const timer = setInterval(() => {
    db.query(BEAT, values).then(
      () => {
        warned = false;
      },
      (error: unknown) => {
        if (!warned) process.stderr.write(`timestep: heartbeat failed (retrying): ${String(error)}\n`);
        warned = true;
      },
    );
  }, heartbeat * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    try {
      await db.query(`DELETE FROM ${TABLE} WHERE executor_id = $1 AND pid = $2`, [executorId, process.pid]);
    } finally {
      await db.close();
    }
  };
}
