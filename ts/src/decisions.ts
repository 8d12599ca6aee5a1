/**
 * approve / reject: human decisions on a waiting run's pending tool calls, recorded in the same
 * audit table as Python's `timestep.durable.approve` / `reject` (`timestep_approvals`: who, when,
 * why), with the same rules and typed errors, so `timestep runs show` and the inbox list them.
 * `resume` (or `resume: true` once every call is decided) continues the run durably, as Python's
 * `timestep.durable.resume`: its next segment claims the recorded decisions in a step and runs
 * with every model and tool call checkpointed (`runOptions.durable: false`: continued with the
 * stock Runner and saved, not checkpointed).
 */
import { RunState } from '@openai/agents';
import { ConfigurationError } from './errors.js';
import { consumeResult, runAgent, type AnyAgent, type AnyResult, type RunAgentOptions } from './run.js';
import { RunStateStore, type DecisionKind, type DecisionRecord } from './store/index.js';

/** What `approve` / `reject` recorded (the twin of Python's `timestep.durable.Decision`). */
export interface Decision {
  runId: string;
  callId: string;
  stateVersion: number;
  decision: DecisionKind;
  /** Every pending call of that version now has a decision. */
  allDecided: boolean;
  /** The run was resumed (`resume: true` and every call decided). */
  resumed: boolean;
}

export interface DecideOptions {
  /** Why (kept in the audit trail; a rejection's reason is also sent to the model). */
  reason?: string;
  /** Who decided (recorded as `decided_by`). */
  by?: string;
  /** Approve (or reject) every later call of the same tool in this run too. */
  always?: boolean;
  /** Continue the run once every pending call is decided (needs `agent` or the store's agent). */
  resume?: boolean;
  /** Default: `new RunStateStore()` (`$TIMESTEP_DB`, else `sqlite:///timestep.db`). */
  store?: RunStateStore;
  agent?: AnyAgent;
  /** Options for the resumed run (model provider, runner, maxTurns, `durable: false`, ...). */
  runOptions?: RunAgentOptions;
}

export interface ResumeOptions {
  store?: RunStateStore;
  agent?: AnyAgent;
  stream?: boolean;
  runOptions?: RunAgentOptions;
}

/** Apply recorded decisions to a loaded state; return the approved call ids in order. */
export function applyDecisions(
  state: RunState<unknown, AnyAgent>,
  decisions: readonly DecisionRecord[],
): string[] {
  const byCall = new Map(decisions.map((d) => [d.callId, d]));
  const approved: string[] = [];
  for (const item of state.getInterruptions()) {
    const raw = item.rawItem as { callId?: unknown; id?: unknown };
    const callId = typeof raw.callId === 'string' ? raw.callId : undefined;
    const decision = callId === undefined ? undefined : byCall.get(callId);
    if (decision === undefined || callId === undefined) continue;
    if (decision.decision === 'approve') {
      state.approve(item, { alwaysApprove: decision.always });
      approved.push(callId);
    } else {
      const options: { alwaysReject: boolean; message?: string } = { alwaysReject: decision.always };
      if (decision.reason !== null) options.message = decision.reason;
      state.reject(item, options);
    }
  }
  return approved;
}

/**
 * Continue a waiting run whose pending calls are all decided, durably in this process (the twin
 * of Python's `timestep.durable.resume(run_id, agent=...)`): its next segment `<runId>@<version>`
 * applies the recorded decisions and runs the agent with every model and tool call a checkpointed
 * step; a run started with a session keeps writing to it. Of several callers racing to resume
 * one run exactly one succeeds; the others get `RunNotWaitingError`. With
 * `runOptions.durable: false` the run is continued with the stock Runner under the same run id
 * (saved at its end, not checkpointed).
 */
export async function resume(runId: string, options: ResumeOptions = {}): Promise<AnyResult> {
  const store = options.store ?? new RunStateStore();
  const agent = options.agent ?? store.agent;
  if (agent === undefined) {
    throw new ConfigurationError('resume() needs the agent: pass { agent } or give it to the store');
  }
  const runOptions = options.runOptions ?? {};
  if (runOptions.durable !== false) {
    const { resume: resumeDurable } = await import('./durable/api.js');
    const result = await resumeDurable(runId, {
      store,
      agent,
      stream: options.stream ?? runOptions.stream ?? false,
      ...(runOptions.maxTurns !== undefined ? { maxTurns: runOptions.maxTurns } : {}),
      ...(runOptions.context !== undefined ? { context: runOptions.context } : {}),
      ...(runOptions.modelProvider ? { modelProvider: runOptions.modelProvider } : {}),
      ...(runOptions.runner ? { runner: runOptions.runner } : {}),
    });
    return result!; // with an agent the segment runs here and returns its result
  }
  const latest = await store.get(runId);
  const state = await store.load(runId, agent, { version: latest.version });
  applyDecisions(state, await store.claimDecisions(runId, latest.version));
  return runAgent(agent, state, null, options.stream ?? false, {
    ...runOptions,
    runId,
    store,
    durable: false,
  });
}

async function decide(
  decision: DecisionKind,
  runId: string,
  callId: string | undefined,
  options: DecideOptions,
): Promise<Decision> {
  const store = options.store ?? new RunStateStore();
  const { record, allDecided } = await store.decide(runId, callId, decision, {
    always: options.always ?? false,
    reason: options.reason ?? null,
    decidedBy: options.by ?? null,
  });
  let resumed = false;
  if (options.resume && allDecided) {
    const resumeOptions: ResumeOptions = { store };
    if (options.agent !== undefined) resumeOptions.agent = options.agent;
    if (options.runOptions !== undefined) resumeOptions.runOptions = options.runOptions;
    await consumeResult(await resume(runId, resumeOptions));
    resumed = true;
  }
  return {
    runId,
    callId: record.callId,
    stateVersion: record.stateVersion,
    decision,
    allDecided,
    resumed,
  };
}

/**
 * Approve a pending tool call of a waiting run (the only undecided one when `callId` is omitted:
 * `approve(runId, { by, reason })`).
 * Throws `RunNotFoundError`, `RunNotWaitingError`, `UnknownCallError`, `ApprovalError` (several
 * undecided calls and none named) or `ApprovalAlreadyDecidedError`, changing nothing.
 */
export function approve(
  runId: string,
  callId?: string | DecideOptions,
  options: DecideOptions = {},
): Promise<Decision> {
  return typeof callId === 'object'
    ? decide('approve', runId, undefined, callId)
    : decide('approve', runId, callId, options);
}

/** Reject a pending tool call; `reason` is sent to the model. See `approve`. */
export function reject(
  runId: string,
  callId?: string | DecideOptions,
  options: DecideOptions = {},
): Promise<Decision> {
  return typeof callId === 'object'
    ? decide('reject', runId, undefined, callId)
    : decide('reject', runId, callId, options);
}
