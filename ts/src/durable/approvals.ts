/**
 * Durable approvals, on the same `timestep_approvals` rows as Python's `timestep.durable._approvals`:
 * `decide` writes one row per decided call in a transaction that re-checks, under the run row's
 * write lock, that the run still waits at the same version; the segment that resumes a run flips
 * it from `waiting` to `running` and reads its decisions in one transaction (a DBOS step).
 */
import type { RunState } from '@openai/agents';
import {
  ApprovalAlreadyDecidedError,
  ApprovalError,
  ConfigurationError,
  RunNotWaitingError,
  UnknownCallError,
} from '../errors.js';
import { ensureSchema, openSql, RunNotFoundError, utcNow, type Sql } from '../store.js';
import type { RunStateStore } from '../store.js';

/** A recorded decision, as the resuming segment reads it. */
export interface RecordedDecision {
  call_id: string;
  decision: 'approve' | 'reject';
  always: boolean;
  reason: string | null;
}

const connections = new Map<string, Promise<Sql>>();

/** A process-wide connection on the store's database (its tables created if absent). */
export function storeSql(store: RunStateStore): Promise<Sql> {
  if (store.kind === 'file') {
    throw new ConfigurationError(
      `store ${store.url} is a file: durable approvals need a database store (sqlite:/// or postgresql://)`,
    );
  }
  let found = connections.get(store.url);
  if (!found) {
    found = (async () => {
      const sql = openSql(store.url);
      await ensureSchema(sql);
      return sql;
    })();
    connections.set(store.url, found);
  }
  return found;
}

/** Close the connections `storeSql` opened (tests, clean exits). */
export async function closeStoreConnections(): Promise<void> {
  const open = [...connections.values()];
  connections.clear();
  for (const sql of open) await (await sql).close();
}

const lockClause = (sql: Sql): string => (sql.dialect === 'postgresql' ? ' FOR UPDATE' : '');

/** Record a decision; return [call id, state version, whether every pending call is decided]. */
export async function decide(
  store: RunStateStore,
  runId: string,
  callId: string | undefined,
  options: { decision: 'approve' | 'reject'; always?: boolean; reason?: string; by?: string },
): Promise<[string, number, boolean]> {
  const sql = await storeSql(store);
  return sql.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT status, latest_version, pending_approvals FROM timestep_runs WHERE run_id = $1${lockClause(tx)}`,
      [runId],
    );
    const row = rows[0];
    if (!row) throw new RunNotFoundError(`no run '${runId}' in the store`);
    if (row.status !== 'waiting') {
      throw new RunNotWaitingError(`run '${runId}' is ${String(row.status)}, not waiting for a decision`);
    }
    const version = Number(row.latest_version);
    const pending = JSON.parse(String(row.pending_approvals)) as { call_id: string; tool_name: string }[];
    const decided = new Set(
      (
        await tx.query(
          'SELECT call_id FROM timestep_approvals WHERE run_id = $1 AND state_version = $2',
          [runId, version],
        )
      ).map((r) => String(r.call_id)),
    );
    let chosen = callId;
    if (chosen === undefined) {
      const open = pending.filter((p) => !decided.has(p.call_id));
      if (open.length !== 1) {
        throw new ApprovalError(`run '${runId}' has ${open.length} undecided calls; name one with callId`);
      }
      chosen = open[0]!.call_id;
    }
    const entry = pending.find((p) => p.call_id === chosen);
    if (!entry) {
      const known = pending.map((p) => p.call_id).join(', ') || 'none';
      throw new UnknownCallError(`run '${runId}' has no pending approval '${chosen}' (pending: ${known})`);
    }
    if (decided.has(chosen)) {
      throw new ApprovalAlreadyDecidedError(
        `call '${chosen}' of run '${runId}' was already decided at version ${version}`,
      );
    }
    const now = utcNow();
    await tx.query('UPDATE timestep_runs SET updated_at = $1 WHERE run_id = $2', [now, runId]);
    await tx.query(
      `INSERT INTO timestep_approvals (run_id, call_id, tool_name, decision, always, reason,
         decided_by, decided_at, state_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [runId, chosen, entry.tool_name, options.decision, options.always ?? false,
        options.reason ?? null, options.by ?? null, now, version],
    );
    decided.add(chosen);
    return [chosen, version, pending.every((p) => decided.has(p.call_id))];
  });
}

/** Flip `runId` from waiting (at `version`) to running; true for the caller that did. */
export async function claim(store: RunStateStore, runId: string, version: number): Promise<boolean> {
  const sql = await storeSql(store);
  return sql.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT status, latest_version FROM timestep_runs WHERE run_id = $1${lockClause(tx)}`,
      [runId],
    );
    const row = rows[0];
    if (!row || row.status !== 'waiting' || Number(row.latest_version) !== version) return false;
    await tx.query('UPDATE timestep_runs SET status = $1, updated_at = $2 WHERE run_id = $3', [
      'running', utcNow(), runId,
    ]);
    return true;
  });
}

/** Mark the run running (if still waiting at `version`) and return its decisions for `version`. */
export async function claimAndRead(
  store: RunStateStore,
  runId: string,
  version: number,
): Promise<RecordedDecision[]> {
  const sql = await storeSql(store);
  return sql.transaction(async (tx) => {
    await tx.query(
      `UPDATE timestep_runs SET status = 'running', updated_at = $1
       WHERE run_id = $2 AND status = 'waiting' AND latest_version = $3`,
      [utcNow(), runId, version],
    );
    const rows = await tx.query(
      `SELECT call_id, decision, always, reason FROM timestep_approvals
       WHERE run_id = $1 AND state_version = $2 ORDER BY id`,
      [runId, version],
    );
    return rows.map((r) => ({
      call_id: String(r.call_id),
      decision: r.decision === 'approve' ? 'approve' : 'reject',
      always: Boolean(r.always),
      reason: r.reason === null || r.reason === undefined ? null : String(r.reason),
    }));
  });
}

/** Apply recorded decisions to `state`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function apply(state: RunState<any, any>, decisions: RecordedDecision[]): void {
  const byCall = new Map(decisions.map((d) => [d.call_id, d]));
  for (const item of state.getInterruptions()) {
    const raw = item.rawItem as { callId?: string; id?: string };
    const decision = byCall.get(raw.callId ?? raw.id ?? '');
    if (!decision) continue;
    if (decision.decision === 'approve') state.approve(item, { alwaysApprove: decision.always });
    else {
      state.reject(item, {
        alwaysReject: decision.always,
        ...(decision.reason !== null ? { message: decision.reason } : {}),
      });
    }
  }
}

/**
 * Waiting runs whose every pending call has a recorded decision and that this language resumes:
 * runs whose metadata says `durable_language: "typescript"`.
 */
export async function fullyDecided(store: RunStateStore, language = 'typescript'): Promise<string[]> {
  const sql = await storeSql(store);
  const waiting = await sql.query(
    "SELECT run_id, latest_version, pending_approvals, metadata FROM timestep_runs WHERE status = 'waiting'",
  );
  const ready: string[] = [];
  for (const row of waiting) {
    const meta = row.metadata ? (JSON.parse(String(row.metadata)) as Record<string, unknown>) : {};
    if ((meta.durable_language ?? 'python') !== language) continue;
    const pending = (JSON.parse(String(row.pending_approvals)) as { call_id: string }[]).map((p) => p.call_id);
    const decided = new Set(
      (
        await sql.query(
          'SELECT call_id FROM timestep_approvals WHERE run_id = $1 AND state_version = $2',
          [row.run_id, row.latest_version],
        )
      ).map((r) => String(r.call_id)),
    );
    if (pending.length > 0 && pending.every((c) => decided.has(c))) ready.push(String(row.run_id));
  }
  return ready;
}
