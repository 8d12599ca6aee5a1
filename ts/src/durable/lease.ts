/**
 * Executor leases on a Postgres system database: live TypeScript workers take over the segments of
 * a TypeScript process that died (the twin of Python's `timestep.durable._takeover`).
 *
 * DBOS recovers a workflow left `PENDING` only when an executor with the same id launches again,
 * and each process on Postgres has an id of its own (`<host>-<pid>-<hex>`). So every TypeScript
 * process that launched DBOS on Postgres holds a lease: a row in `dbos.timestep_executors` (the
 * table Python's module owns; language `typescript`), renewed every `TIMESTEP_EXECUTOR_HEARTBEAT`
 * seconds (default 5) and valid for `TIMESTEP_EXECUTOR_LEASE` seconds (default 20, at least twice
 * the heartbeat); times are the database's clock.
 *
 * At every heartbeat a worker claims the TypeScript executors whose lease expired (a row lock,
 * `FOR UPDATE SKIP LOCKED`, and `taken_by` set in the same transaction: one claimer each), puts
 * their `PENDING` segments (TypeScript's application version) back on the `timestep-ts` queue with
 * DBOS's own recovery call, and deletes their rows. Python workers only claim Python executors and
 * TypeScript workers only TypeScript ones: each language recovers only its own segments. A claim
 * whose claimer died expires after one lease.
 *
 * Bound: a dead process's segment runs again within `lease + heartbeat` seconds (25 s by default)
 * plus the queue's polling, provided a live TypeScript worker knows its agent. A process cut off
 * from the database for longer than its lease is taken for dead: an in-flight step may then run
 * twice (with the same idempotency key), as after a crash. A process that stops cleanly deletes
 * its row unless segments of its own are still PENDING (those are then taken over).
 *
 * On the embedded PGlite (SQLite and file stores) there is no lease: one process at a time opens
 * it, and the next launch (same executor id) recovers the previous one's segments.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigurationError } from '../errors.js';
import { openSql, type Sql } from '../store/engine.js';
import { APPLICATION_VERSION, QUEUE_NAME } from './config.js';

const TABLE = 'dbos.timestep_executors';
export const DEFAULT_HEARTBEAT = 5;
export const DEFAULT_LEASE = 20;

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
VALUES ($1, $2, $3, $4, 'typescript', $5)
ON CONFLICT (executor_id) DO UPDATE SET
    heartbeat_at = now(), lease_seconds = EXCLUDED.lease_seconds, host = EXCLUDED.host,
    pid = EXCLUDED.pid, language = 'typescript', worker = EXCLUDED.worker,
    taken_by = NULL, taken_at = NULL`;

const FIND_DEAD = `
SELECT executor_id FROM ${TABLE}
WHERE executor_id <> $1
  AND language = 'typescript'
  AND heartbeat_at < now() - lease_seconds * interval '1 second'
  AND (taken_at IS NULL OR taken_at < now() - $2 * interval '1 second')
ORDER BY heartbeat_at
FOR UPDATE SKIP LOCKED`;

const CLAIM = `UPDATE ${TABLE} SET taken_by = $1, taken_at = now() WHERE executor_id = $2`;

const RELEASE = `
DELETE FROM ${TABLE}
WHERE executor_id = $1 AND taken_by = $2
  AND heartbeat_at < now() - lease_seconds * interval '1 second'`;

/** Delete this process's row on a clean stop, unless segments of its own are still PENDING. */
const LEAVE = `
DELETE FROM ${TABLE}
WHERE executor_id = $1 AND pid = $2
  AND NOT EXISTS (
    SELECT 1 FROM dbos.workflow_status WHERE executor_id = $1 AND status = 'PENDING'
  )`;

/** How often an executor renews its lease and how long the lease lasts (seconds). */
export interface LeaseSettings {
  heartbeat: number;
  lease: number;
}

/** Plain decimal seconds, optionally with an exponent: the texts Python's reader accepts. */
const SECONDS = /^[ \t\n\r\f\v]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\f\v]*$/;

function envSeconds(name: string, fallback: number): number {
  const text = process.env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!SECONDS.test(text) || !Number.isFinite(value)) {
    throw new ConfigurationError(`$${name} must be a number of seconds, got '${text}'`);
  }
  return value;
}

/**
 * Explicit values, else `$TIMESTEP_EXECUTOR_HEARTBEAT` / `_LEASE`, else the defaults; throws
 * ConfigurationError unless the heartbeat is positive and the lease at least twice the heartbeat.
 */
export function leaseSettings(explicit: Partial<LeaseSettings> = {}): LeaseSettings {
  const heartbeat = explicit.heartbeat ?? envSeconds('TIMESTEP_EXECUTOR_HEARTBEAT', DEFAULT_HEARTBEAT);
  const lease = explicit.lease ?? envSeconds('TIMESTEP_EXECUTOR_LEASE', DEFAULT_LEASE);
  if (!(heartbeat > 0)) {
    throw new ConfigurationError(`the executor heartbeat must be positive, got ${heartbeat}`);
  }
  if (!(lease >= 2 * heartbeat)) {
    throw new ConfigurationError(
      `the executor lease (${lease} s) must be at least twice the heartbeat (${heartbeat} s), ` +
        'so one late heartbeat does not look like a dead process',
    );
  }
  return { heartbeat, lease };
}

/** A unique executor id for this process on a shared system database: `<host>-<pid>-<hex>`. */
export function newExecutorId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Put `executor`'s PENDING TypeScript segments back on the `timestep-ts` queue (DBOS's call). */
async function requeuePending(executor: string): Promise<string[]> {
  const { DBOSExecutor } = await import('@dbos-inc/dbos-sdk/internal/dbos-executor');
  const dbos = DBOSExecutor.globalInstance;
  if (!dbos) throw new Error('DBOS is not launched in this process');
  return dbos.systemDatabase.reenqueueWorkflowsForRecovery(executor, APPLICATION_VERSION, QUEUE_NAME);
}

/** Claim every dead TypeScript executor and requeue its segments: `{executor: segments requeued}`. */
export async function takeOver(db: Sql, executorId: string, settings: LeaseSettings): Promise<Record<string, number>> {
  const dead = await db.transaction(async (tx) => {
    const rows = await tx.query(FIND_DEAD, [executorId, settings.lease]);
    const ids = rows.map((row) => String(row.executor_id));
    for (const other of ids) await tx.query(CLAIM, [executorId, other]);
    return ids;
  });
  const taken: Record<string, number> = {};
  for (const other of dead) {
    const requeued = await requeuePending(other);
    await db.query(RELEASE, [other, executorId]);
    taken[other] = requeued.length;
    if (requeued.length > 0) {
      process.stderr.write(
        `timestep: executor '${other}' stopped renewing its lease; ${requeued.length} of its ` +
          'segments were put back on the queue\n',
      );
    }
  }
  return taken;
}

/** This process's lease: take it out (`open`), renew it in the background (`run`), `stop` it. */
export class Lease {
  readonly #db: Sql;
  readonly #values: unknown[];
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #stopped = false;
  #takingOver: boolean;
  #warned = false;
  #opened = false;

  constructor(
    url: string,
    readonly executorId: string,
    readonly settings: LeaseSettings,
    readonly worker: boolean,
  ) {
    // idle connections must not keep a process alive that is otherwise done
    this.#db = openSql(url, { max: 2, allowExitOnIdle: true });
    this.#values = [executorId, settings.lease, hostname(), process.pid, worker];
    this.#takingOver = worker;
  }

  /** Take over no more dead executors (DBOS is about to shut down); the lease is still renewed. */
  async stopTakingOver(): Promise<void> {
    this.#takingOver = false;
    await this.#ticking; // a takeover in flight ends while DBOS still runs
  }

  /** Create the table if needed and take out the lease; false (and a warning if `warn`) on error. */
  async open(warn: boolean): Promise<boolean> {
    try {
      await this.#db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [TABLE]);
        await tx.query('CREATE SCHEMA IF NOT EXISTS dbos');
        await tx.query(CREATE);
        await tx.query(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS language TEXT NOT NULL DEFAULT 'python'`);
        await tx.query(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS worker BOOLEAN NOT NULL DEFAULT false`);
      });
      await this.#db.query(BEAT, this.#values);
      this.#opened = true;
      return true;
    } catch (error) {
      if (warn) {
        process.stderr.write(
          `timestep: executor leases are unavailable (${String(error)}): if this process dies, ` +
            `its segments wait for a process with executor id '${this.executorId}'\n`,
        );
      }
      return false;
    }
  }

  /** Renew the lease every heartbeat (workers also take over dead executors); never keeps Node alive. */
  run(): void {
    if (!this.#opened || this.#stopped) return;
    const schedule = (): void => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.#ticking = this.#tick().finally(schedule);
      }, this.settings.heartbeat * 1000);
      this.#timer.unref();
    };
    schedule();
  }

  async #tick(): Promise<void> {
    try {
      await this.#db.query(BEAT, this.#values);
      if (this.#takingOver && !this.#stopped) await takeOver(this.#db, this.executorId, this.settings);
      this.#warned = false;
    } catch (error) {
      if (!this.#warned) process.stderr.write(`timestep: executor lease renewal failed (retrying): ${String(error)}\n`);
      this.#warned = true;
    }
  }

  /** Stop renewing; the row goes unless this executor still has PENDING segments (taken over later). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#takingOver = false;
    clearTimeout(this.#timer);
    await this.#ticking;
    try {
      if (this.#opened) await this.#db.query(LEAVE, [this.executorId, process.pid]);
    } catch {
      // the lease expires and a worker takes over (or forgets) the row
    } finally {
      await this.#db.close();
    }
  }
}
