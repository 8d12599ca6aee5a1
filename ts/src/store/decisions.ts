/**
 * Human decisions on pending tool calls: the records and the rules every backend applies, the
 * twin of Python's `timestep.state.decisions` (same rules, same errors, same messages). A
 * decision is one audit record (who, when, why) for the waiting version of a run.
 */
import {
  ApprovalAlreadyDecidedError,
  ApprovalError,
  ConfigurationError,
  UnknownCallError,
} from '../errors.js';
import type { PendingApproval, RunSummary, StoredState } from './records.js';

/**
 * `approve` (the tool runs; with `arguments`, with the human's edited arguments instead of the
 * model's), `reject` (the tool does not run; the reason goes to the model) or `answer` (the tool
 * does not run; the human's `output` is the tool's output the model gets).
 */
export type DecisionKind = 'approve' | 'reject' | 'answer';
export const DECISIONS: readonly DecisionKind[] = ['approve', 'reject', 'answer'];

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
  /** The edited arguments (JSON object text) an approval runs the tool with, else null. */
  arguments: string | null;
  /** The model's arguments of an edited approval (the audit trail's "before"). */
  originalArguments: string | null;
  /** An answer's text, given to the model as the tool's output (the tool does not run). */
  output: string | null;
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
  /** Edited arguments as stored (see `editArguments`), for an approval. */
  arguments: string | null;
  /** An answer's text. */
  output: string | null;
}

/**
 * Edited arguments as stored: a JSON object's compact text (the same in both languages).
 * `value` is an object, or the text of a JSON object (as typed in the CLI or the inbox).
 */
export function editArguments(value: unknown): string {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new ConfigurationError(
        `edited arguments are not valid JSON (${(error as Error).message}): give a JSON ` +
          'object, e.g. {"amount": 10}',
      );
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? 'list' : parsed === null ? 'NoneType' : jsonKind(parsed);
    throw new ConfigurationError(
      `edited arguments must be a JSON object, not ${kind}: e.g. {"amount": 10}`,
    );
  }
  return JSON.stringify(parsed);
}

/** Python's type names for a JSON value (the error messages are the twins of Python's). */
function jsonKind(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return typeof value;
}

/** The rules for a decision's extra fields (checked before anything is written). */
export function checkDecision(
  decision: string,
  always: boolean,
  args: string | null,
  output: string | null,
): void {
  if (!DECISIONS.includes(decision as DecisionKind)) {
    throw new ConfigurationError(`unknown decision '${decision}'; use approve, reject or answer`);
  }
  if (args !== null && decision !== 'approve') {
    throw new ConfigurationError(`edited arguments go with an approval, not a ${decision}`);
  }
  if (args !== null && always) {
    throw new ConfigurationError(
      'edited arguments apply to one call: they cannot be combined with always',
    );
  }
  if (decision === 'answer') {
    if (typeof output !== 'string') {
      throw new ConfigurationError('an answer needs output: the text the model gets');
    }
    if (always) throw new ConfigurationError('an answer applies to one call: it cannot be always');
  } else if (output !== null) {
    throw new ConfigurationError(`output goes with an answer, not a ${decision}`);
  }
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
  const verbs: Record<string, string> = {
    approve: 'approved',
    reject: 'rejected',
    answer: 'answered',
  };
  const verb = verbs[record.decision] ?? record.decision;
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
