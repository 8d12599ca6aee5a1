/**
 * The approvals side of durable segments, on the store's decision rows (the same
 * `timestep_approvals` table as Python's; `approve`/`reject` in ../decisions.ts record them): the
 * segment that resumes a run flips it from `waiting` to `running` and reads its decisions in one
 * transaction (the DBOS step `timestep.approvals.read`, whose JSON checkpoint has Python's keys).
 */
import type { RunState } from '@openai/agents';
import type { RunStateStore } from '../store/index.js';

/** A recorded decision as the resuming segment checkpoints it (Python's keys: keep them stable). */
export interface RecordedDecision {
  call_id: string;
  decision: 'approve' | 'reject' | 'answer';
  always: boolean;
  reason: string | null;
  /** Edited arguments of an approval (absent in checkpoints written before revision 0004). */
  arguments?: string | null;
  /** An answer's text. */
  output?: string | null;
}

/** Mark the run running (if still waiting at `version`) and return its decisions for `version`. */
export async function claimAndRead(
  store: RunStateStore,
  runId: string,
  version: number,
): Promise<RecordedDecision[]> {
  return (await store.claimDecisions(runId, version)).map((d) => ({
    call_id: d.callId,
    decision: d.decision,
    always: d.always,
    reason: d.reason,
    arguments: d.arguments,
    output: d.output,
  }));
}

/**
 * Apply recorded decisions to `state`. An answer is the SDK's rejection with the answer's text as
 * the message, which the model gets verbatim as the call's output (the tool does not run); an
 * approval with edited arguments is an approval whose tool step runs with them (`edits`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function apply(state: RunState<any, any>, decisions: RecordedDecision[]): void {
  const byCall = new Map(decisions.map((d) => [d.call_id, d]));
  for (const item of state.getInterruptions()) {
    const raw = item.rawItem as { callId?: string };
    const decision = byCall.get(raw.callId ?? '');
    if (!decision) continue;
    if (decision.decision === 'approve') state.approve(item, { alwaysApprove: decision.always });
    else if (decision.decision === 'answer') state.reject(item, { message: decision.output ?? '' });
    else {
      state.reject(item, {
        alwaysReject: decision.always,
        ...(decision.reason !== null ? { message: decision.reason } : {}),
      });
    }
  }
}

/** Edited arguments (JSON text) by call id, for the segment's tool steps. */
export function edits(decisions: readonly RecordedDecision[]): Map<string, string> {
  const edited = new Map<string, string>();
  for (const d of decisions) {
    if (d.decision === 'approve' && typeof d.arguments === 'string') edited.set(d.call_id, d.arguments);
  }
  return edited;
}

/** The language whose workers resume a run (its metadata's `durable_language`; Python by default). */
export function resumeLanguageOf(metadata: unknown): string {
  const value = (metadata as { durable_language?: unknown } | null)?.durable_language;
  return typeof value === 'string' ? value : 'python';
}

/** Waiting runs whose pending calls are all decided and that TypeScript's workers resume. */
export async function readyForTypeScript(store: RunStateStore): Promise<string[]> {
  const ready: string[] = [];
  for (const runId of await store.readyToResume()) {
    if (resumeLanguageOf((await store.run(runId)).metadata) === 'typescript') ready.push(runId);
  }
  return ready;
}
