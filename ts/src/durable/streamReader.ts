/**
 * Re-attaching to a streamed durable run's event log by run id (`attachStream`), the twin of
 * Python's `timestep.durable.attach_stream`: the same table (`timestep_stream_events`, where
 * ./streamLog.ts and Python's writer put it: Python's DBOS system database of the store), the same
 * end and wait rules and the same errors. The event format is the contract in
 * docs/dev/contracts.md ("Durable stream events"); render events with `StreamText` (../stream.ts).
 */
import { RunNotFoundError, RunNotStreamedError } from '../errors.js';
import { openSql, type Sql } from '../store/engine.js';
import { RunStateStore } from '../store/index.js';
import type { StreamEvent } from '../stream.js';
import { createLogTable, logDatabaseUrl } from './streamLog.js';
import { givenStore } from '../store/given.js';

/** Options of {@link attachStream}. */
export interface AttachStreamOptions {
  /** The store of the run (locates the log); default: `new RunStateStore()` (`$TIMESTEP_DB`). */
  store?: RunStateStore;
  /** Yield only events whose log id is greater (the `id` of the last event a reader saw). */
  after?: number;
  /** Milliseconds between reads of the log while no new event is there (default 50). */
  pollIntervalMs?: number;
  /** Bound on the wait for each new event, in milliseconds (a `TimeoutError`); default none. */
  timeoutMs?: number;
  /** `segment_end` statuses that end the reading (default: done, failed, waiting, cancelled). */
  until?: readonly string[];
}

const ACTIVE = new Set(['PENDING', 'ENQUEUED', 'DELAYED']);
/** Milliseconds between checks of the run's segments while a reader sees no new event. */
const CHECK_INTERVAL_MS = 500;

interface Segment {
  id: string;
  status: string;
  /** Whether its recorded inputs ask for a stream (undefined when they cannot be read). */
  streamed: boolean | undefined;
}

async function read(sql: Sql, runId: string, after: number): Promise<[number, StreamEvent][]> {
  const rows = await sql.query(
    'SELECT id, payload FROM timestep_stream_events WHERE run_id = $1 AND id > $2 ORDER BY id',
    [runId, after],
  );
  return rows.map((row) => [Number(row.id), JSON.parse(String(row.payload)) as StreamEvent]);
}

async function latest(sql: Sql, runId: string): Promise<StreamEvent | undefined> {
  const rows = await sql.query(
    'SELECT payload FROM timestep_stream_events WHERE run_id = $1 ORDER BY id DESC LIMIT 1',
    [runId],
  );
  return rows[0] ? (JSON.parse(String(rows[0].payload)) as StreamEvent) : undefined;
}

/** Whether a segment's recorded inputs (`{"args": [run, version, spec]}` or `[run, version, spec]`) ask for a stream. */
function streamed(inputs: unknown): boolean | undefined {
  try {
    const parsed = JSON.parse(String(inputs)) as unknown;
    const args = Array.isArray(parsed) ? parsed : (parsed as { args?: unknown }).args;
    const spec = (args as unknown[])[2] as { stream?: unknown };
    return spec !== null && typeof spec === 'object' ? Boolean(spec.stream) : undefined;
  } catch {
    return undefined;
  }
}

/** The run's DBOS segments in the log's database (Python's; TypeScript's on Postgres), oldest first. */
async function segments(sql: Sql, runId: string): Promise<Segment[]> {
  const table = sql.dialect === 'postgresql' ? 'dbos.workflow_status' : 'workflow_status';
  const exists =
    sql.dialect === 'postgresql'
      ? await sql.query("SELECT to_regclass('dbos.workflow_status') IS NOT NULL AS present")
      : await sql.query("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'workflow_status'");
  if (!exists[0]?.present) return [];
  const prefix = `${runId.replace(/[\\%_]/g, (c) => `\\${c}`)}@%`;
  const rows = await sql.query(
    `SELECT workflow_uuid, status, inputs FROM ${table} WHERE workflow_uuid LIKE $1 ESCAPE '\\' ORDER BY created_at`,
    [prefix],
  );
  return rows.map((row) => ({ id: String(row.workflow_uuid), status: String(row.status), streamed: streamed(row.inputs) }));
}

/** The run's row, or undefined when the store does not know it. */
async function storedRun(store: RunStateStore, runId: string): Promise<{ status: string; language: string } | undefined> {
  try {
    return await store.run(runId);
  } catch (error) {
    if (error instanceof RunNotFoundError) return undefined;
    throw error;
  }
}

/**
 * A `running` TypeScript run whose segments this reader cannot see (in TypeScript's embedded
 * PGlite, beside a SQLite store).
 */
async function tsRunning(store: RunStateStore, runId: string): Promise<boolean> {
  const row = await storedRun(store, runId);
  return row?.status === 'running' && row.language === 'typescript';
}

/**
 * What a reader with no new event does: true to end, false to keep waiting. Throws
 * `RunNotFoundError` for a run nothing knows, `RunNotStreamedError` for one that has written no
 * event and will write none (no streamed segment is running or queued).
 */
async function idle(sql: Sql, store: RunStateStore, runId: string, after: number): Promise<boolean> {
  const all = await segments(sql, runId);
  const last = await latest(sql, runId);
  const active = all.filter((s) => ACTIVE.has(s.status));
  if (last === undefined) {
    if (active.some((s) => s.streamed !== false)) return false; // its first event will come
    if (all.length === 0 && (await tsRunning(store, runId))) return false;
    if (active.length > 0) {
      throw new RunNotStreamedError(`run '${runId}' is running without stream: true: it writes no stream events`);
    }
    if (all.length > 0 || (await storedRun(store, runId)) !== undefined) {
      throw new RunNotStreamedError(`run '${runId}' wrote no stream events (it was not run with stream: true)`);
    }
    throw new RunNotFoundError(`no run '${runId}': no durable segment and no stream events`);
  }
  if (active.length > 0 || (all.length === 0 && (await tsRunning(store, runId)))) return false;
  if (last.type === 'segment_end' && last.status === 'waiting' && all.length > 0 && all.at(-1)!.id === last.segment) {
    return false; // paused for approval: the next segment continues the stream
  }
  // every segment ended: anything not yet read was committed before its workflow ended
  return (await read(sql, runId, after)).length === 0;
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/**
 * Yield the run's durable stream events from the start (or after log id `after`) to its end; the
 * twin of Python's `attach_stream`.
 *
 * Reading ends at a `segment_end` event whose status is in `until` (by default any end: done,
 * failed, or waiting for approval), or when no segment of the run is running or queued and every
 * event was read (e.g. a cancelled run). A run whose process died keeps the reader waiting until a
 * worker resumes it; so does one paused for approval once its `segment_end` was read, and a
 * `running` TypeScript run whose segments live in an embedded PGlite. Each event carries its log
 * id as `id`; pass the last one as `after` to continue later. `timeoutMs` bounds the wait for each
 * new event (a `TimeoutError`, `error.name === 'TimeoutError'`).
 *
 * Throws `RunNotFoundError` at once for a run id that neither the log, DBOS nor the store knows,
 * and `RunNotStreamedError` for a run that wrote no event and has no streamed segment running or
 * queued. Render the events with `StreamText`.
 */
export async function* attachStream(runId: string, options: AttachStreamOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
  const own = options.store === undefined;
  const store = givenStore(options.store);
  const until = new Set(options.until ?? ['done', 'failed', 'waiting', 'cancelled']);
  const poll = options.pollIntervalMs ?? 50;
  let after = options.after ?? 0;
  const sql = openSql(logDatabaseUrl(store.target));
  try {
    await createLogTable(sql);
    let waited = 0;
    let checkAt = 0; // the first empty read checks the run right away
    for (;;) {
      const batch = await read(sql, runId, after);
      if (batch.length === 0) {
        if (waited >= checkAt) {
          if (await idle(sql, store, runId, after)) return;
          checkAt = waited + CHECK_INTERVAL_MS;
        }
        if (options.timeoutMs !== undefined && waited >= options.timeoutMs) {
          throw new DOMException(`no new event of run '${runId}' within ${options.timeoutMs} ms`, 'TimeoutError');
        }
        await sleep(poll);
        waited += poll;
        continue;
      }
      waited = 0;
      checkAt = CHECK_INTERVAL_MS;
      for (const [id, payload] of batch) {
        after = id;
        payload.id = id;
        yield payload;
        if (payload.type === 'segment_end' && until.has(String(payload.status))) return;
      }
    }
  } finally {
    await sql.close();
    if (own) await store.close();
  }
}
