/**
 * approve / reject / answer: human decisions on a waiting run's pending tool calls, recorded in
 * the same audit table as Python's `timestep.durable.approve` / `reject` / `answer`
 * (`timestep_approvals`: who, when, why; edited arguments next to the model's; an answer's text),
 * with the same rules and typed errors, so `timestep runs show` and the inbox list them.
 * `resume` (or `resume: true` once every call is decided) continues the run durably, as Python's
 * `timestep.durable.resume`: its next segment claims the recorded decisions in a step and runs
 * with every model and tool call checkpointed, in this process with an agent, else on a
 * TypeScript worker (`runOptions.durable: false`: continued here with the stock Runner and saved,
 * not checkpointed).
 */
import { Agent, type FunctionTool, RunState } from '@openai/agents';
import { ConfigurationError } from './errors.js';
import { consumeResult, runAgent, type AnyAgent, type AnyResult, type RunAgentOptions } from './run.js';
import { RunStateStore, type DecisionKind, type DecisionRecord } from './store/index.js';
import { givenStore } from './store/given.js';

/** What `approve` / `reject` recorded (the twin of Python's `timestep.durable.Decision`). */
export interface Decision {
  runId: string;
  callId: string;
  stateVersion: number;
  decision: DecisionKind;
  /** Every pending call of that version now has a decision. */
  allDecided: boolean;
  /**
   * The run was resumed (`resume: true` and every call decided): in this process with an agent,
   * else handed to a TypeScript worker (as Python's `resumed` when its segment is queued).
   */
  resumed: boolean;
  /** The edited arguments (compact JSON object text) of an approval that changed them. */
  arguments: string | null;
  /** An answer's text, given to the model as the call's output. */
  output: string | null;
}

export interface DecideOptions {
  /** Why (kept in the audit trail; a rejection's reason is also sent to the model). */
  reason?: string;
  /** Who decided (recorded as `decided_by`). */
  by?: string;
  /** Approve (or reject) every later call of the same tool in this run too. */
  always?: boolean;
  /**
   * Continue the run once every pending call is decided: in this process with `agent` (or the
   * store's agent), else on a TypeScript `worker()` (as Python's `approve(..., resume=True)`).
   */
  resume?: boolean;
  /** Default: `new RunStateStore()` (`$TIMESTEP_DB`, else `sqlite:///timestep.db`). */
  store?: RunStateStore;
  agent?: AnyAgent;
  /** Options for the resumed run (model provider, runner, maxTurns, `durable: false`, ...). */
  runOptions?: RunAgentOptions;
}

export interface ApproveOptions extends DecideOptions {
  /**
   * Edit the call: the tool runs with these arguments (an object, or a JSON object's text)
   * instead of the model's; the record keeps both. The model's history keeps the call as the
   * model made it, followed by the output of the edited call. Not with `always`.
   */
  arguments?: Record<string, unknown> | string;
}

export interface AnswerOptions extends Omit<DecideOptions, 'always'> {
  /** The text the model gets as the tool's output (the tool does not run). */
  output: string;
}

export interface ResumeOptions {
  store?: RunStateStore;
  agent?: AnyAgent;
  stream?: boolean;
  runOptions?: RunAgentOptions;
}

/**
 * Apply recorded decisions to a loaded state; return the approved call ids in order. An answer
 * is the SDK's rejection with the answer's text as the message (the model gets it verbatim as the
 * call's output; the tool does not run). Edited arguments are applied by the tools of
 * `withEditedArguments`.
 */
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
    } else if (decision.decision === 'answer') {
      state.reject(item, { message: decision.output ?? '' });
    } else {
      const options: { alwaysReject: boolean; message?: string } = { alwaysReject: decision.always };
      if (decision.reason !== null) options.message = decision.reason;
      state.reject(item, options);
    }
  }
  return approved;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTool = FunctionTool<any, any, any>;

/**
 * Clones of `agent` and the agents it hands off to whose function tools run a call named in
 * `edits` (call id -> edited arguments JSON, filled in later) with the edited arguments.
 */
export function withEditedArguments(agent: AnyAgent, edits: Map<string, string>): AnyAgent {
  const clones = new Map<AnyAgent, AnyAgent>();
  const cloneOf = (original: AnyAgent): AnyAgent => {
    const known = clones.get(original);
    if (known) return known;
    const tools = original.tools.map((t) => {
      if (t.type !== 'function') return t;
      const tool = t as AnyTool;
      const invoke: AnyTool['invoke'] = (runContext, input, details) => {
        const callId = details?.toolCall?.callId;
        const edited = callId === undefined ? undefined : edits.get(callId);
        if (edited === undefined) return tool.invoke(runContext, input, details);
        const toolCall = details?.toolCall ? { ...details.toolCall, arguments: edited } : undefined;
        return tool.invoke(runContext, edited, toolCall ? { ...details, toolCall } : details);
      };
      return { ...tool, invoke };
    });
    const clone = original.clone({ tools }) as AnyAgent;
    clones.set(original, clone);
    clone.handoffs = original.handoffs.map((h) => (h instanceof Agent ? cloneOf(h as AnyAgent) : h));
    return clone;
  };
  return cloneOf(agent);
}

/**
 * Continue a waiting run whose pending calls are all decided, durably (the twin of Python's
 * `timestep.durable.resume`): its next segment `<runId>@<version>` applies the recorded
 * decisions and runs the agent with every model and tool call a checkpointed step; a run started
 * with a session keeps writing to it. With `agent` (or the store's agent) the segment runs in
 * this process and its result is returned; without, the run is handed to a TypeScript
 * `worker()` (queued on a Postgres store; on a SQLite or file store the worker's poll finds it)
 * and `undefined` is returned, as Python's `resume(run_id)` returns None. Of several callers
 * racing to resume one run exactly one succeeds; the others get `RunNotWaitingError`. With
 * `runOptions.durable: false` the run is continued here with the stock Runner under the same
 * run id (saved at its end, not checkpointed; it needs the agent).
 */
export async function resume(runId: string, options: ResumeOptions = {}): Promise<AnyResult | undefined> {
  const store = givenStore(options.store);
  const given = options.agent ?? store.agent;
  const runOptions = options.runOptions ?? {};
  if (runOptions.durable !== false) {
    const { resume: resumeDurable } = await import('./durable/api.js');
    return resumeDurable(runId, {
      store,
      ...(given !== undefined ? { agent: given } : {}),
      stream: options.stream ?? runOptions.stream ?? false,
      ...(runOptions.maxTurns !== undefined ? { maxTurns: runOptions.maxTurns } : {}),
      ...(runOptions.context !== undefined ? { context: runOptions.context } : {}),
      ...(runOptions.modelProvider ? { modelProvider: runOptions.modelProvider } : {}),
      ...(runOptions.runner ? { runner: runOptions.runner } : {}),
    });
  }
  if (given === undefined) {
    throw new ConfigurationError(
      'resume() with runOptions.durable: false needs the agent: pass { agent } or give it to the store',
    );
  }
  // not durable: the agent's tools run an edited call with its edited arguments
  const edits = new Map<string, string>();
  const agent = withEditedArguments(given, edits);
  const latest = await store.get(runId);
  const state = await store.load(runId, agent, { version: latest.version });
  const decisions = await store.claimDecisions(runId, latest.version);
  for (const d of decisions) {
    if (d.decision === 'approve' && d.arguments !== null) edits.set(d.callId, d.arguments);
  }
  applyDecisions(state, decisions);
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
  options: DecideOptions & { arguments?: Record<string, unknown> | string; output?: string },
): Promise<Decision> {
  const store = givenStore(options.store);
  const { record, allDecided } = await store.decide(runId, callId, decision, {
    always: options.always ?? false,
    reason: options.reason ?? null,
    decidedBy: options.by ?? null,
    arguments: options.arguments ?? null,
    output: options.output ?? null,
  });
  let resumed = false;
  if (options.resume && allDecided) {
    const resumeOptions: ResumeOptions = { store };
    if (options.agent !== undefined) resumeOptions.agent = options.agent;
    if (options.runOptions !== undefined) resumeOptions.runOptions = options.runOptions;
    const result = await resume(runId, resumeOptions);
    if (result !== undefined) await consumeResult(result); // else handed to a worker
    resumed = true;
  }
  return {
    runId,
    callId: record.callId,
    stateVersion: record.stateVersion,
    decision,
    allDecided,
    resumed,
    arguments: record.arguments,
    output: record.output,
  };
}

/**
 * Approve a pending tool call of a waiting run (the only undecided one when `callId` is omitted:
 * `approve(runId, { by, reason })`). `arguments` edits the call (see `ApproveOptions`).
 * Throws `RunNotFoundError`, `RunNotWaitingError`, `UnknownCallError`, `ApprovalError` (several
 * undecided calls and none named) or `ApprovalAlreadyDecidedError`, changing nothing; edited
 * arguments that are not a JSON object, or with `always`: `ConfigurationError`.
 */
export function approve(
  runId: string,
  callId?: string | ApproveOptions,
  options: ApproveOptions = {},
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

/**
 * Answer a pending tool call instead of running the tool: the model gets `output` as the tool's
 * result, exactly; `reason` is kept in the audit trail only. See `approve`.
 */
export async function answer(
  runId: string,
  callId: string | AnswerOptions | undefined,
  options?: AnswerOptions,
): Promise<Decision> {
  const [call, opts] = typeof callId === 'object' ? [undefined, callId] : [callId, options];
  if (opts === undefined) {
    throw new ConfigurationError('an answer needs output: the text the model gets');
  }
  return decide('answer', runId, call, { ...opts, always: false });
}
