/**
 * Human decisions on pending tool calls: the records and the rules every backend applies, the
 * twin of Python's `timestep.state.decisions` (same rules, same errors, same messages). A
 * decision is one audit record (who, when, why) for the waiting version of a run.
 */
import { ApprovalAlreadyDecidedError, ApprovalError, UnknownCallError } from '../errors.js';
import type { PendingApproval, RunSummary, StoredState } from './records.js';

export type DecisionKind = 'approve' | 'reject';
export const DECISIONS: readonly DecisionKind[] = ['approve', 'reject'];

/** One recorded decision (a row of `timestep_approvals`, shared with Python). */
export interface DecisionRecord {
  runId: string;
  callId: string;
  toolName: string;
  decision: DecisionKind;
  always: boolean;
  reason: string | null;
  decidedBy: string | null;
  decidedAt: string;
  stateVersion: number;
}

/** What recording a decision did: the record, and whether every pending call is now decided. */
export interface DecisionOutcome {
  record: DecisionRecord;
  allDecided: boolean;
}

/** @internal What a backend records: `callId` undefined names the only undecided call. */
export interface DecideArgs {
  runId: string;
  callId: string | undefined;
  decision: DecisionKind;
  always: boolean;
  reason: string | null;
  decidedBy: string | null;
}

/**
 * The pending call a new decision is about, or a typed error saying why there is none. With
 * `callId` undefined the run must have exactly one undecided call. `decided` holds the decisions
 * already recorded for the same (waiting) version.
 */
export function chooseCall(
  runId: string,
  pending: readonly PendingApproval[],
  decided: readonly DecisionRecord[],
  callId: string | undefined,
): PendingApproval {
  const done = new Map(decided.map((record) => [record.callId, record]));
  if (callId === undefined) {
    const open = pending.filter((p) => !done.has(p.callId));
    if (open.length === 0 && pending.length > 0) {
      throw new ApprovalAlreadyDecidedError(
        `every pending call of run '${runId}' was already decided`,
      );
    }
    if (open.length !== 1) {
      const names = open.length > 0 ? ` (${open.map((p) => p.callId).join(', ')})` : '';
      throw new ApprovalError(
        `run '${runId}' has ${open.length} undecided calls${names}; name one with call_id`,
      );
    }
    return open[0]!;
  }
  const entry = pending.find((p) => p.callId === callId);
  if (entry === undefined) {
    const known = pending.map((p) => p.callId).join(', ') || 'none';
    throw new UnknownCallError(
      `run '${runId}' has no pending approval '${callId}' (pending: ${known})`,
    );
  }
  const previous = done.get(callId);
  if (previous !== undefined) throw alreadyDecided(previous);
  return entry;
}

/** The error for a second decision on `record`'s call, saying who decided and when. */
export function alreadyDecided(record: DecisionRecord): ApprovalAlreadyDecidedError {
  const by = record.decidedBy ? ` by ${record.decidedBy}` : '';
  const verb = record.decision === 'approve' ? 'approved' : 'rejected';
  return new ApprovalAlreadyDecidedError(
    `call '${record.callId}' of run '${record.runId}' was already ${verb}${by} at ` +
      `${record.decidedAt} (version ${record.stateVersion})`,
  );
}

/** Whether every pending call has a decision (false when nothing is pending). */
export function allDecided(pending: readonly PendingApproval[], decided: Iterable<string>): boolean {
  const done = new Set(decided);
  return pending.length > 0 && pending.every((p) => done.has(p.callId));
}

/** Pending approvals of the run's latest version that nobody has decided yet. */
export function undecided(
  run: RunSummary | StoredState,
  decisions: readonly DecisionRecord[],
): PendingApproval[] {
  const version = 'latestVersion' in run ? run.latestVersion : run.version;
  if (run.status !== 'waiting') return [];
  const done = new Set(
    decisions
      .filter((d) => d.runId === run.runId && d.stateVersion === version)
      .map((d) => d.callId),
  );
  return run.pendingApprovals.filter((p) => !done.has(p.callId));
}
