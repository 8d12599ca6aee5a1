/**
 * The durable event log of streamed runs (`timestep_stream_events`), written by a streamed TS
 * segment in the same rows and format as Python's `timestep.durable._stream` (contract:
 * docs/dev/contracts.md, "Durable stream events"), so Python's `attach_stream` and `timestep runs
 * stream` read a TS run. The log lives where Python looks for it: in Python's DBOS system
 * database of the store (`$TIMESTEP_DBOS_URL`, else the Postgres store's database, else the SQLite
 * file beside the store, `timestep.db` -> `timestep.dbos.sqlite`), not in TS's embedded PGlite,
 * which serves DBOS's single connection and which Python cannot open.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { openSql, POSTGRES_URL, type Sql } from '../store/engine.js';

type Json = Record<string, unknown>;

const ddl = (dialect: Sql['dialect']): string[] => [
  `CREATE TABLE IF NOT EXISTS timestep_stream_events (id ${dialect === 'postgresql' ? 'SERIAL' : 'INTEGER NOT NULL'} ` +
    'PRIMARY KEY, run_id TEXT NOT NULL, segment TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL, ' +
    'CONSTRAINT uq_timestep_stream_event UNIQUE (run_id, segment, key))',
  'CREATE INDEX IF NOT EXISTS ix_timestep_stream_events_run ON timestep_stream_events (run_id, id)',
];

/** Python's DBOS system database URL of a store (its `system_database_url`): where the log lives. */
export function logDatabaseUrl(storeUrl: string): string {
  const override = process.env.TIMESTEP_DBOS_URL;
  if (override) return override;
  if (POSTGRES_URL.test(storeUrl)) return storeUrl;
  const path = storeUrl.startsWith('sqlite:') ? storeUrl.replace(/^sqlite:\/\/\/?/, '') : storeUrl;
  if (path === '' || path === ':memory:') {
    throw new ConfigurationError('durable runs need a file-backed store; an in-memory SQLite store cannot hold their log');
  }
  const full = resolve(path);
  return `sqlite:///${join(dirname(full), `${basename(full).replace(/\.[^.]*$/, '')}.dbos.sqlite`)}`;
}

const pools = new Map<string, Promise<Sql>>();

/** Create the log's table (and index) in `sql` if missing; a concurrent creator is fine. */
export async function createLogTable(sql: Sql): Promise<void> {
  for (const statement of ddl(sql.dialect)) {
    try {
      await sql.query(statement);
    } catch (error) {
      // a concurrent creator (Python or another process) won the race: the table exists
      if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P07') throw error;
    }
  }
}

async function prepared(url: string): Promise<Sql> {
  const sql = openSql(url);
  await createLogTable(sql);
  return sql;
}

/** The key of an event of `attempt` of model step `step`: `m<step>.<attempt>:<suffix>`. */
export function attemptKey(step: number, attempt: number, suffix: string | number): string {
  return `m${step}.${attempt}:${suffix}`;
}

/** The `attempt_abandoned` event of `attempt` of model step `step` (reason `retried` or `failed`). */
export function abandoned(step: number, attempt: number, reason: 'retried' | 'failed', error?: string): Json {
  const event: Json = { key: attemptKey(step, attempt, 'abandoned'), type: 'attempt_abandoned', step, attempt, reason };
  if (error !== undefined) event.error = error;
  return event;
}

/** Appends the events of one segment of a run to the log. */
export class StreamLog {
  constructor(
    readonly sql: Sql,
    readonly runId: string,
    readonly segment: string,
  ) {}

  #row(event: Json): unknown[] {
    return [this.runId, this.segment, String(event.key), JSON.stringify({ ...event, segment: this.segment })];
  }

  /** Insert `event` unless its key is logged, serialised with the run's other writers; true when inserted. */
  async #insert(tx: Sql, event: Json): Promise<boolean> {
    const rows = await tx.query(
      'INSERT INTO timestep_stream_events (run_id, segment, key, payload) VALUES ($1, $2, $3, $4) ' +
        'ON CONFLICT DO NOTHING RETURNING id',
      this.#row(event),
    );
    return rows.length > 0;
  }

  async #lock(tx: Sql): Promise<void> {
    if (tx.dialect !== 'postgresql') return; // a SQLite write transaction is already exclusive
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`timestep_stream_events:${this.runId}`]);
  }

  /** Append `event` (ignored when its key is already logged). */
  async emit(event: Json): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await this.#lock(tx);
      await this.#insert(tx, event);
    });
  }

  /**
   * Log the start of a new attempt of model step `step` and return its number (1, 2, ...), taken
   * atomically from the log: the first attempt whose `attempt_started` key is free; attempt
   * `k > 1` logs, in the same transaction and just before, that attempt `k - 1` was abandoned.
   */
  async beginAttempt(step: number): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const start = { key: attemptKey(step, attempt, 'start'), type: 'attempt_started', step, attempt };
      const won = await this.sql.transaction(async (tx) => {
        await this.#lock(tx);
        if (attempt > 1) await this.#insert(tx, abandoned(step, attempt - 1, 'retried'));
        return this.#insert(tx, start);
      });
      if (won) return attempt;
    }
  }
}

/** The log writer of a streamed segment of a run on `storeUrl` (see `logDatabaseUrl`). */
export async function streamLog(storeUrl: string, runId: string, segment: string): Promise<StreamLog> {
  const url = logDatabaseUrl(storeUrl);
  let pool = pools.get(url);
  if (!pool) {
    pool = prepared(url);
    pools.set(url, pool);
    pool.catch(() => pools.delete(url));
  }
  return new StreamLog(await pool, runId, segment);
}

/** Close the log's connections (on shutdown). */
export async function closeStreamLogs(): Promise<void> {
  const open = [...pools.values()];
  pools.clear();
  for (const pool of open) await (await pool.catch(() => undefined))?.close();
}

/**
 * The log form of one SDK stream event of a model attempt (undefined: not logged): text deltas as
 * Responses `response.output_text.delta`, the final response as `response.completed`.
 */
export function modelEvent(step: number, attempt: number, index: number, event: { type: string }): Json | undefined {
  let logged: Json;
  let suffix: string | number = index;
  if (event.type === 'output_text_delta') {
    logged = { type: 'response.output_text.delta', delta: (event as { delta?: string }).delta ?? '', sequence_number: index };
  } else if (event.type === 'response_done') {
    logged = { type: 'response.completed', response: (event as { response?: unknown }).response ?? null, sequence_number: index };
    suffix = 'completed';
  } else {
    return undefined;
  }
  return { key: attemptKey(step, attempt, suffix), type: 'model_event', step, attempt, event: JSON.parse(JSON.stringify(logged)) as unknown };
}
