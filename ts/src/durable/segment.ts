/**
 * The segment workflow (`timestep.segment`): one uninterrupted stretch of a run as a DBOS workflow.
 * It starts from the run's input (version 0) or from a stored waiting state plus the decisions
 * recorded for it, runs the agent until it finishes or pauses, and ends by saving the RunState
 * (`done` or `waiting`) as the next version: not a DBOS step (a fork's is), since the save is a
 * compare-and-set on the version the segment extends. The same workflow and step names,
 * workflow ids and store rows as Python's `timestep.durable._segment`.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { RunContext, Runner, RunState } from '@openai/agents';
import type {
  Agent,
  AgentInputItem,
  ModelProvider,
  RunConfig,
  RunResult,
  Session,
  StreamedRunResult,
} from '@openai/agents';
import { RunNotFoundError, StaleStateError } from '../errors.js';
import { MultiModelProvider } from '../models/index.js';
import { openSession, publicDbUrl, TimestepSession } from '../session.js';
import { RunStateStore as Store, type RunStateStore, type RunStatus } from '../store/index.js';
import { restoreState } from '../store/restore.js';
import type { Json } from '../translate/index.js';
import * as approvals from './approvals.js';
import * as names from './names.js';
import { currentSegment, DurableModelProvider, wrapAgent } from './steps.js';
import { streamLog } from './streamLog.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResult = RunResult<any, any> | StreamedRunResult<any, any>;

/** What a segment records about itself (plain JSON, the workflow's input; no credentials beyond the store URL). */
export interface SegmentSpec {
  agent: string;
  store: string;
  max_turns: number;
  stream: boolean;
  input?: string | AgentInputItem[];
  /** A RunState (JSON) given by the caller, with decisions applied in memory. */
  state?: unknown;
  model?: string;
  context?: Record<string, unknown>;
  /** The run's session: its id, its database without password (null: not reopenable), and
   * `history`, how many of the run's input items came from it (set by the first segment). */
  session?: SessionSpec;
  language: 'typescript';
}

/** What a durable run records about its session (Python's `durable_session`, same keys). */
export interface SessionSpec {
  id: string;
  db: string | null;
  history?: number;
}

/** What a segment returns (its workflow output, JSON). */
export interface SegmentOutcome {
  status: RunStatus;
  version: number;
  final_output: string | null;
}

/** In-process extras of a segment started here (lost on a crash). */
export interface LocalRun {
  agent: AnyAgent;
  store: RunStateStore;
  modelProvider: ModelProvider | undefined;
  context: unknown;
  /** The caller's session (used as is; a recovered segment reopens it from the spec). */
  session?: Session | undefined;
  /** The caller's Runner configuration (its model provider is made durable). */
  runnerConfig?: Partial<RunConfig> | undefined;
  result?: AnyResult;
  /** Resolved with the streamed result as soon as the segment starts it. */
  started?: (result: AnyResult) => void;
  /** Resolved when the segment saved its state (or failed). */
  saved?: Promise<void>;
  markSaved?: () => void;
}

export const localRuns = new Map<string, LocalRun>();
const agents = new Map<string, AnyAgent>();
const waiters = new Map<string, (() => void)[]>();
const stores = new Map<string, RunStateStore>();

/** Model provider of segments recovered or dequeued here (set by `worker({ modelProvider })`). */
export const workerSettings: { modelProvider: ModelProvider | undefined } = { modelProvider: undefined };

/** Make `agent` (by name) available to segments recovered or dequeued in this process. */
export function registerAgent(agent: AnyAgent): void {
  agents.set(agent.name, agent);
  for (const wake of waiters.get(agent.name) ?? []) wake();
  waiters.delete(agent.name);
}

/** Full database URLs (with password) this process was given: they resolve persisted ones. */
const knownTargets = new Set<string>();

/** Remember a store's or session's full URL (a recovered segment reopens the database with it). */
export function rememberTarget(target: string): void {
  knownTargets.add(target);
}

/** The full URL for a persisted, password-free one (a known URL or `$TIMESTEP_DB` naming it). */
function resolveDb(persisted: string): string {
  const env = process.env.TIMESTEP_DB;
  for (const candidate of [...knownTargets, ...(env ? [env] : [])]) {
    if (candidate !== persisted && publicDbUrl(candidate) === persisted) return candidate;
  }
  return persisted;
}

/** A process-wide store object for `target`. */
export function storeFor(target: string): RunStateStore {
  let store = stores.get(target);
  if (!store) {
    store = new Store(target);
    stores.set(target, store);
  }
  return store;
}

async function resolve(runId: string, spec: SegmentSpec): Promise<[LocalRun | undefined, AnyAgent, RunStateStore]> {
  const local = localRuns.get(DBOS.workflowID ?? '');
  if (local) return [local, local.agent, local.store];
  if (!agents.has(spec.agent)) {
    // Recovered in a process that does not know this agent: stay PENDING until it is registered.
    process.stderr.write(
      `timestep: durable run '${runId}' needs agent '${spec.agent}', not registered in this ` +
        'process; it waits until registerAgent() or a worker with that agent picks it up\n',
    );
    await new Promise<void>((wake) => {
      waiters.set(spec.agent, [...(waiters.get(spec.agent) ?? []), wake]);
    });
  }
  return [undefined, agents.get(spec.agent)!, storeFor(resolveDb(spec.store))];
}

/**
 * Metadata key of a failed run whose segment could not load its state: the version to retry from
 * (`resume` starts that segment again). The same key as Python's `RESUMABLE_KEY`.
 */
export const RESUMABLE_KEY = 'resumable_from';

/** Whether `error` is DBOS's cancellation of a workflow (its errors keep the name `Error`). */
export function isCancellation(error: unknown): boolean {
  const code = (error as { dbosErrorCode?: number } | null)?.dbosErrorCode;
  const type = (error as object | null)?.constructor?.name ?? '';
  return code === 24 || code === 27 || /WorkflowCancelled/.test(type);
}

/** The error as recorded in a run's metadata (type and message, bounded). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length <= 2000 ? text : `${text.slice(0, 1997)}...`;
}

/** A RunState at the start of a run: what a run that ended in its first segment keeps. */
export function startState(agent: AnyAgent, input: string | AgentInputItem[], maxTurns: number): RunState<unknown, AnyAgent> {
  return new RunState<unknown, AnyAgent>(new RunContext<unknown>(undefined), input, agent, maxTurns);
}

/**
 * Mark `runId` `failed`/`cancelled` with `reason` in its metadata. A run that never saved a
 * version gets `first`, its start state, as version 1, so it is listed with its input and error.
 * `retryFrom` (a segment that could not load its state) is kept as `metadata.resumable_from`:
 * `resume` may start that segment again.
 */
export async function recordEnd(
  store: RunStateStore,
  runId: string,
  status: RunStatus,
  reason: string,
  first: RunState<unknown, AnyAgent> | undefined,
  agentName: string,
  retryFrom?: number,
): Promise<string> {
  const metadata: Record<string, unknown> = { error: reason };
  if (retryFrom !== undefined) metadata[RESUMABLE_KEY] = retryFrom;
  if (first) {
    try {
      await store.save(first, {
        runId,
        status,
        expectedVersion: 0,
        metadata: { ...metadata, durable_agent: agentName, durable_language: 'typescript' } as never,
      });
      return reason;
    } catch (error) {
      if (!(error instanceof StaleStateError)) throw error;
    }
  }
  try {
    await store.setStatus(runId, status, { metadata: metadata as never });
  } catch (error) {
    if (!(error instanceof RunNotFoundError)) throw error;
  }
  return reason;
}

/** The session a segment reads and writes: the caller's, else reopened from the spec. */
function sessionFor(local: LocalRun | undefined, spec: SegmentSpec, runId: string): Session | undefined {
  if (local?.session !== undefined) return local.session;
  const info = spec.session;
  if (!info) return undefined;
  if (info.db === null || info.db === undefined) {
    process.stderr.write(
      `timestep: durable run '${runId}' uses session '${info.id}', which cannot be reopened in ` +
        'this process; its new items are not written to the session\n',
    );
    return undefined;
  }
  return openSession(info.id, resolveDb(info.db));
}

/** `input` as input items (a string is one user message). */
function inputItems(input: string | AgentInputItem[]): AgentInputItem[] {
  return typeof input === 'string' ? [{ type: 'message', role: 'user', content: input } as AgentInputItem] : input;
}

/** Canonical JSON (sorted keys), to compare items whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Append a finished run's new items once: a write repeated after a crash finds them there. */
async function writeSession(session: Session, items: AgentInputItem[]): Promise<number> {
  if (items.length === 0) return 0;
  if (session instanceof TimestepSession) return session.addItemsOnce(items);
  const tail = await session.getItems(items.length);
  if (canonical(tail) === canonical(items)) return 0;
  await session.addItems(items);
  return items.length;
}

async function latestVersion(store: RunStateStore, runId: string): Promise<number> {
  try {
    return (await store.get(runId)).version;
  } catch (error) {
    if (error instanceof RunNotFoundError) return 0;
    throw error;
  }
}

/**
 * Write the segment's final state; a repeat after a crash finds its own version.
 *
 * `baseVersion` is the version the segment extends (a fork's is its new run's latest version,
 * checkpointed before the save). The write is a compare-and-set on it, and only the segment
 * holding the run at `baseVersion` (claimed, or the run's first segment) appends the next version:
 * a run is `running` while a segment holds it, and claims take only `waiting` runs. So when the
 * store already holds a later version, the one right after `baseVersion` is this segment's own,
 * committed before a crash: a repeat returns it and writes nothing, even when later segments
 * (resumed from that version meanwhile) appended more. The same rule as Python's `_save`.
 */
async function save(
  store: RunStateStore,
  runId: string,
  baseVersion: number,
  result: AnyResult,
  status: RunStatus,
  metadata: Record<string, unknown>,
): Promise<number> {
  try {
    const stored = await store.save(result.state, {
      runId,
      status,
      expectedVersion: baseVersion,
      metadata: metadata as never,
    });
    return stored.version;
  } catch (error) {
    if (error instanceof StaleStateError && error.actual > baseVersion) return baseVersion + 1;
    throw error;
  }
}

/** The RunState a resumed segment starts from, with its recorded decisions applied. */
async function loadInput(
  store: RunStateStore,
  runId: string,
  baseVersion: number,
  root: AnyAgent,
  spec: SegmentSpec,
): Promise<RunState<unknown, AnyAgent>> {
  if (spec.state !== undefined && spec.state !== null) return restoreState(spec.state as Json, root);
  const state = await store.load(runId, root, { version: baseVersion });
  const decisions = await DBOS.runStep(() => approvals.claimAndRead(store, runId, baseVersion), {
    name: names.DECISIONS_STEP,
  });
  approvals.apply(state, decisions);
  const seg = currentSegment.getStore();
  if (seg) seg.editedArguments = approvals.edits(decisions);
  return state;
}

async function segmentBody(runId: string, baseVersion: number, spec: SegmentSpec): Promise<SegmentOutcome> {
  const workflowId = DBOS.workflowID ?? names.segmentId(runId, baseVersion);
  // A fork runs under a new workflow id "<new run>@<version>" and writes under the new run id.
  const targetRun = workflowId.slice(0, workflowId.lastIndexOf('@'));
  const forked = targetRun !== runId;
  const [local, agent, store] = await resolve(runId, spec);
  const session = sessionFor(local, spec, targetRun);
  const sessionInfo: SessionSpec | undefined = spec.session ? { ...spec.session } : undefined;
  const root = wrapAgent(agent);
  const log = spec.stream ? await streamLog(resolveDb(spec.store), targetRun, workflowId) : undefined;
  return currentSegment.run({ runId: targetRun, workflowId, log }, async () => {
    try {
      let input: string | AgentInputItem[] | RunState<unknown, AnyAgent>;
      if ((spec.state !== undefined && spec.state !== null) || baseVersion > 0) {
        try {
          input = await loadInput(store, runId, baseVersion, root, spec);
        } catch (error) {
          if (isCancellation(error)) throw error;
          // Recorded like any failure, with the version to retry from: once the agent (or the
          // stored state) is fixed, resume() starts this segment again.
          const reason = `cannot load version ${baseVersion}: ${describeError(error)}`;
          await DBOS.runStep(
            () => recordEnd(store, targetRun, 'failed', reason, undefined, agent.name, forked ? undefined : baseVersion),
            { name: names.SAVE_STEP },
          );
          await log?.emit({ key: 'end', type: 'segment_end', status: 'failed', error: String(error instanceof Error ? error.message : error) });
          throw error;
        }
      } else {
        input = spec.input ?? '';
        if (session !== undefined && sessionInfo !== undefined) {
          // the history this run starts from is checkpointed: a replay sees the same one
          const history = (await DBOS.runStep(async () => (await session.getItems()) as unknown[], {
            name: names.SESSION_READ_STEP,
          })) as AgentInputItem[];
          sessionInfo.history = history.length;
          input = [...history, ...inputItems(input)];
        }
      }
      if (baseVersion === 0 || forked) {
        // the run is stored (version 0, `running`) before any step, as in Python: listed,
        // cancellable and forkable while its first segment runs and after its process died
        // there. Not a step: a replayed segment finds the row and writes nothing.
        const first = input instanceof RunState ? input : startState(root, input, spec.max_turns);
        await store.createRun(first, {
          runId: targetRun,
          metadata: { durable_agent: agent.name, durable_language: 'typescript' },
        });
      }
      const inner = local ? local.modelProvider : workerSettings.modelProvider;
      const runner = new Runner({
        ...(local?.runnerConfig ?? {}),
        modelProvider: new DurableModelProvider(inner ?? new MultiModelProvider()),
        ...(spec.model !== undefined && !local ? { model: spec.model } : {}),
      });
      const context = local ? local.context : spec.context;
      const options = { maxTurns: spec.max_turns, ...(context !== undefined ? { context } : {}) };
      let result: AnyResult;
      try {
        if (spec.stream) {
          const streamed = (await runner.run(root, input as string, { ...options, stream: true })) as StreamedRunResult<
            unknown,
            AnyAgent
          >;
          if (local?.started) local.started(streamed);
          else {
            for await (const _event of streamed) {
              // drained: nobody here reads this segment's events
            }
          }
          await streamed.completed;
          if (streamed.error) throw streamed.error;
          result = streamed;
        } else {
          result = (await runner.run(root, input as string, options)) as RunResult<unknown, AnyAgent>;
        }
      } catch (error) {
        const first =
          baseVersion > 0 || forked || typeof input === 'object' && input instanceof RunState
            ? undefined
            : startState(root, input as string | AgentInputItem[], spec.max_turns);
        await DBOS.runStep(
          () => recordEnd(store, targetRun, 'failed', describeError(error), first, agent.name),
          { name: names.SAVE_STEP },
        );
        await log?.emit({ key: 'end', type: 'segment_end', status: 'failed', error: String(error instanceof Error ? error.message : error) });
        throw error;
      }
      const status: RunStatus = result.interruptions.length > 0 ? 'waiting' : 'done';
      if (status === 'done' && session !== undefined && sessionInfo !== undefined) {
        const newItems = result.history.slice(sessionInfo.history ?? 0);
        await DBOS.runStep(() => writeSession(session, newItems), { name: names.SESSION_WRITE_STEP });
      }
      const metadata: Record<string, unknown> = { durable_agent: agent.name, durable_language: 'typescript' };
      if (sessionInfo !== undefined) metadata.durable_session = sessionInfo;
      // A fork extends its new run's latest version (stored by forkRun or by its first row),
      // read in a step: a replay gets it back instead of reading its own save.
      const extendsVersion = forked
        ? await DBOS.runStep(() => latestVersion(store, targetRun), { name: names.FORK_BASE_STEP })
        : baseVersion;
      // Not a step (one DBOS checkpoint less per segment): the save is a compare-and-set on the
      // version this segment extends, so a replay after a crash finds its own version instead of
      // writing another (see `save`).
      const version = await save(store, targetRun, extendsVersion, result, status, metadata);
      if (local) local.result = result;
      await log?.emit({ key: 'end', type: 'segment_end', status, version });
      const final = result.finalOutput;
      return { status, version, final_output: typeof final === 'string' ? final : null };
    } finally {
      localRuns.delete(workflowId);
      local?.markSaved?.();
    }
  });
}

/** The registered segment workflow. */
export const segmentWorkflow = DBOS.registerWorkflow(segmentBody, {
  name: names.SEGMENT_WORKFLOW,
  maxRecoveryAttempts: 50,
});
