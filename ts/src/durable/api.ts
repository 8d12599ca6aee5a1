/**
 * Public entry points of durable TypeScript runs: run, approve/reject, resume, worker. The twins of
 * Python's `timestep.durable` (`run_durable`, `approve`, `reject`, `resume`, `worker`).
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { RunState } from '@openai/agents';
import type { Agent, AgentInputItem, ModelProvider, Runner, Session } from '@openai/agents';
import { ConfigurationError, RunCancelledError, RunNotFoundError, RunNotWaitingError } from '../errors.js';
import type { RunRequest } from '../run.js';
import { publicDbUrl, sessionDb, TimestepSession } from '../session.js';
import { RunStateStore, type RunStatus } from '../store/index.js';
import * as approvals from './approvals.js';
import { ensureLaunched, systemDatabaseFor } from './config.js';
import * as names from './names.js';
import { trackSave } from './saves.js';
import { withSystem } from './system.js';
import {
  isCancellation,
  localRuns,
  recordEnd,
  RESUMABLE_KEY,
  registerAgent,
  rememberTarget,
  segmentWorkflow,
  startState,
  workerSettings,
  type AnyResult,
  type LocalRun,
  type SegmentSpec,
  type SessionSpec,
} from './segment.js';
import { givenStore } from '../store/given.js';
import { serializeState } from '../store/store.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;

export interface DurableRunOptions {
  /** The run's id: its segments are the DBOS workflows `<runId>@<version>`. */
  runId: string;
  /** Where the run's states go (default: `$TIMESTEP_DB` or `sqlite:///timestep.db`). */
  store?: RunStateStore;
  stream?: boolean;
  maxTurns?: number;
  /** The run context; a JSON object is also given back to segments recovered elsewhere. */
  context?: unknown;
  /** Routes model names (default: `MultiModelProvider`); every model it returns is made durable. */
  modelProvider?: ModelProvider;
  /** A model name for agents without one, persisted with the run. */
  model?: string;
  /** Cancel the segment after this many milliseconds (`RunCancelledError`; the run is `cancelled`). */
  timeoutMs?: number;
  /**
   * The run's session (e.g. `openSession(id)`): the run starts from its history (read once, in a
   * step) and, when the run is done, its new items are appended to it once, in a step (a repeat
   * after a crash finds them already written). A `TimestepSession` is reopened by a process that
   * recovers or resumes the run; another `Session` is used only in this process.
   */
  session?: Session;
  /**
   * A Runner whose configuration this process's segments use (its model provider made durable;
   * `modelProvider`, when given, wins). Not persisted: a worker uses its own.
   */
  runner?: Runner;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

async function runRow(
  store: RunStateStore,
  runId: string,
): Promise<{ version: number; status: RunStatus | ''; metadata: Record<string, unknown> }> {
  try {
    const row = await store.run(runId);
    return { version: row.latestVersion, status: row.status, metadata: row.metadata as Record<string, unknown> };
  } catch (error) {
    if (error instanceof RunNotFoundError) return { version: 0, status: '', metadata: {} };
    throw error;
  }
}

function sessionSpec(session: Session, id: string): SessionSpec {
  if (session instanceof TimestepSession) rememberTarget(session.url);
  return { id, db: sessionDb(session) };
}

/** The persisted session of a stored run (`durable_session` in its metadata), if any. */
function storedSession(metadata: Record<string, unknown>): SessionSpec | undefined {
  const info = metadata.durable_session as Partial<SessionSpec> | null | undefined;
  if (typeof info !== 'object' || info === null || typeof info.id !== 'string') return undefined;
  return { ...info, id: info.id, db: typeof info.db === 'string' ? info.db : null };
}

/** The in-process extras of a segment started here. */
function localRun(agent: AnyAgent, store: RunStateStore, options: Partial<DurableRunOptions>): LocalRun {
  rememberTarget(store.target);
  return {
    agent,
    store,
    modelProvider: options.modelProvider ?? options.runner?.config.modelProvider,
    context: options.context,
    session: options.session,
    runnerConfig: options.runner?.config,
  };
}

function baseSpec(agentName: string, store: RunStateStore, options: Partial<DurableRunOptions>): SegmentSpec {
  const spec: SegmentSpec = {
    agent: agentName,
    store: publicDbUrl(store.target), // no password persisted: resolved from known targets
    max_turns: options.maxTurns ?? 10,
    stream: options.stream ?? false,
    language: 'typescript',
  };
  if (options.model !== undefined) spec.model = options.model;
  if (isJsonObject(options.context)) spec.context = options.context;
  return spec;
}

async function start(
  runId: string,
  base: number,
  spec: SegmentSpec,
  local: LocalRun,
  timeoutMs: number | undefined,
): Promise<AnyResult> {
  const workflowId = names.segmentId(runId, base);
  let markSaved!: () => void;
  local.saved = new Promise<void>((done) => {
    markSaved = done;
  });
  local.markSaved = markSaved;
  let started: Promise<AnyResult> | undefined;
  if (spec.stream) {
    started = new Promise<AnyResult>((resolveStarted) => {
      local.started = resolveStarted;
    });
  }
  localRuns.set(workflowId, local);
  try {
    const handle = await DBOS.startWorkflow(segmentWorkflow, {
      workflowID: workflowId,
      ...(timeoutMs !== undefined ? { timeoutMS: timeoutMs } : {}),
    })(runId, base, spec);
    const outcome = handle.getResult();
    if (started) {
      const first = await Promise.race([started, outcome.then(() => undefined)]);
      if (first) {
        trackSave(first, local.saved.then(() => outcome.then(() => undefined)));
        outcome.catch(() => undefined);
        return first;
      }
      throw new RunNotWaitingError(`segment '${workflowId}' had already run`);
    }
    await outcome;
    if (!local.result) throw new RunNotWaitingError(`segment '${workflowId}' had already run`);
    return local.result;
  } catch (error) {
    if (!isCancellation(error)) throw error;
    const message =
      timeoutMs !== undefined
        ? `run '${runId}' was cancelled or exceeded its timeout (${timeoutMs} ms)`
        : `run '${runId}' was cancelled`;
    const { status } = await runRow(local.store, runId);
    if (status !== 'cancelled') {
      // else cancelRun (either language) recorded who cancelled it and when
      const first = base === 0 && spec.input !== undefined ? startState(local.agent, spec.input, spec.max_turns) : undefined;
      await recordEnd(local.store, runId, 'cancelled', message, first, local.agent.name);
    }
    throw new RunCancelledError(message, { cause: error });
  } finally {
    if (!spec.stream) localRuns.delete(workflowId);
  }
}

/**
 * Run `agent` as the durable run `options.runId`: one DBOS workflow per uninterrupted segment,
 * every model call, function-tool call and handoff a checkpointed step. The segment ends when the
 * run finishes (state saved as `done`) or pauses for approval (`waiting`, with its pending
 * approvals). `input` may be a RunState loaded from the store of a waiting run with decisions
 * applied in memory; prefer `approve`/`reject` + `resume`, which keep an audit trail.
 */
export async function runDurable(
  agent: AnyAgent,
  input: string | AgentInputItem[] | RunState<unknown, AnyAgent>,
  options: DurableRunOptions,
): Promise<AnyResult> {
  const store = givenStore(options.store);
  registerAgent(agent);
  await ensureLaunched(store.target);
  const spec = baseSpec(agent.name, store, options);
  const { version, status, metadata } = await runRow(store, options.runId);
  if (options.session !== undefined) {
    spec.session = sessionSpec(options.session, await options.session.getSessionId());
  }
  let base = 0;
  if (input instanceof RunState) {
    // `resume` (../decisions.ts) claims the run before it calls runAgent: a run already
    // `running` at this version continues here (its segment id makes DBOS run it once).
    if (status !== 'waiting' && status !== 'running') {
      throw new RunNotWaitingError(`run '${options.runId}' is ${status || 'not stored'}, not waiting`);
    }
    if (status === 'waiting' && !(await store.claim(options.runId, version))) {
      throw new RunNotWaitingError(`run '${options.runId}' was resumed by another process`);
    }
    spec.state = serializeState(input);
    base = version;
    // a resumed run keeps the session it started with (and how much of its input came from it)
    const stored = storedSession(metadata);
    if (stored !== undefined) spec.session = stored;
  } else {
    if (version > 0) {
      throw new ConfigurationError(
        `run '${options.runId}' already exists (${status}); resume it or choose a new run id`,
      );
    }
    spec.input = input;
  }
  return start(options.runId, base, spec, localRun(agent, store, options), options.timeoutMs);
}

/**
 * Run a normalized `runAgent` request durably: what `runAgent(..., { runId })` does unless
 * `durable: false`.
 */
export function runRequestDurably(request: RunRequest): Promise<AnyResult> {
  const { options } = request;
  if (options.runId === undefined) throw new ConfigurationError('durable runs need a runId');
  return runDurable(request.agent, request.input, {
    runId: options.runId,
    stream: request.stream,
    ...(options.store ? { store: options.store } : {}),
    ...(options.maxTurns !== undefined ? { maxTurns: options.maxTurns } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    ...(options.modelProvider ? { modelProvider: options.modelProvider } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
    ...(request.session !== undefined ? { session: request.session } : {}),
  });
}

export interface ResumeOptions extends Partial<Omit<DurableRunOptions, 'runId' | 'session'>> {
  /** Run the next segment here with this agent; without, a worker resumes it. */
  agent?: AnyAgent;
}

/**
 * Start the next segment of a waiting run, applying its recorded decisions. With `agent` it runs
 * in this process and its result is returned; without, it is handed to a TypeScript worker and
 * `undefined` is returned: on a Postgres store the run is claimed and its segment queued on the
 * `timestep-ts` queue; on a SQLite or file store (whose embedded PGlite a live worker holds) the
 * run stays `waiting`, recorded as TypeScript's (`durable_language`), and the worker's poll
 * resumes it. Of several callers racing to resume one run, exactly one succeeds; the others get
 * `RunNotWaitingError`. A run that failed because its segment could not load its state
 * (`metadata.resumable_from`, e.g. a tool renamed since it paused) is resumed the same way once
 * the cause is fixed: that segment runs again under its own id.
 */
export async function resume(runId: string, options: ResumeOptions = {}): Promise<AnyResult | undefined> {
  const store = givenStore(options.store);
  const { version, status, metadata } = await runRow(store, runId);
  if (!status) throw new RunNotFoundError(`no run '${runId}' in ${store.url}`);
  // a segment that could not load its state ran under `<runId>@<version>`: a retry forgets it
  const failedLoad = metadata[RESUMABLE_KEY] === version;
  const retry = status === 'failed' && failedLoad;
  if (status !== 'waiting' && !retry) throw new RunNotWaitingError(`run '${runId}' is ${status}, not waiting`);
  const agentName = options.agent?.name ?? (metadata.durable_agent as string | undefined);
  if (agentName === undefined) {
    throw new ConfigurationError(`run '${runId}' was not started durably; pass agent`);
  }
  const spec = baseSpec(agentName, store, options);
  const session = storedSession(metadata);
  if (session !== undefined) spec.session = session;
  const system = systemDatabaseFor(store.target);
  const from = retry ? 'failed' : 'waiting';
  if (!options.agent && system.kind === 'pglite') {
    // The worker's poll resumes it (a live worker holds the PGlite: nothing can be queued
    // there). A failed run, or one another language would resume, is handed over while
    // claimed, so no other resume interleaves with the change; a failed one keeps
    // `resumable_from`, so the worker forgets its failed segment first.
    if (retry || approvals.resumeLanguageOf(metadata) !== 'typescript') {
      if (!(await store.claim(runId, version, from))) {
        throw new RunNotWaitingError(`run '${runId}' was resumed by another process`);
      }
      const handed: Record<string, unknown> = { durable_language: 'typescript' };
      if (retry) handed.error = null;
      await store.setStatus(runId, 'waiting', { metadata: handed as never });
    }
    return undefined;
  }
  if (options.agent) {
    registerAgent(options.agent);
    await ensureLaunched(store.target);
  }
  if (!(await store.claim(runId, version, from))) {
    throw new RunNotWaitingError(`run '${runId}' was resumed by another process`);
  }
  if (failedLoad) await forgetFailedSegment(store, runId, version);
  if (!options.agent) {
    if (approvals.resumeLanguageOf(metadata) !== 'typescript') {
      // recorded as TypeScript's, as the segment's save will (e.g. for cancelRun / cancel_run)
      await store.setStatus(runId, 'running', { metadata: { durable_language: 'typescript' } });
    }
    await withSystem(store, (system) => system.enqueue(runId, version, spec)); // for a worker
    return undefined;
  }
  return start(runId, version, spec, localRun(options.agent, store, options), options.timeoutMs);
}

/** Clear a load failure so the segment from `version` can run again under its own id. */
async function forgetFailedSegment(store: RunStateStore, runId: string, version: number): Promise<void> {
  await store.setStatus(runId, 'running', { metadata: { error: null, [RESUMABLE_KEY]: null } as never });
  await withSystem(store, (system) => system.remove(names.segmentId(runId, version)));
}

/**
 * Hand a run to one language's workers: they resume it once every pending call is decided
 * (recorded in its metadata as `durable_language`; a durable run starts with its own language's).
 */
export async function setResumeLanguage(
  runId: string,
  language: 'python' | 'typescript',
  options: { store?: RunStateStore } = {},
): Promise<void> {
  const store = givenStore(options.store);
  const run = await store.run(runId);
  await store.setStatus(runId, run.status, { metadata: { durable_language: language } });
}

export interface WorkerOptions {
  store?: RunStateStore;
  /** At most this many queued segments at once in this worker. */
  concurrency?: number;
  /**
   * DBOS executor id (Postgres: by default each process has its own, and live workers take over a
   * dead one's segments; a restarted worker with this id recovers its segments at once).
   */
  executorId?: string;
  /** Also resume waiting TypeScript runs whose pending calls are all decided (default true). */
  resumeApproved?: boolean;
  /** Milliseconds between polls for decided runs (default 1000). */
  pollIntervalMs?: number;
  /** Model provider of the segments this worker recovers, dequeues or resumes. */
  modelProvider?: ModelProvider;
  /** Stops the worker. */
  signal?: AbortSignal;
}

/**
 * Run a TypeScript worker until `signal` aborts: DBOS recovers this executor's pending segments on
 * launch, on Postgres the worker takes over the segments of dead TypeScript processes (their
 * leases expired, lease.ts) and drains the `timestep-ts` queue and resumes waiting runs (recorded as
 * TypeScript's, `durable_language`) whose pending calls have all been decided.
 */
export async function worker(agentList: AnyAgent[], options: WorkerOptions = {}): Promise<void> {
  const store = givenStore(options.store);
  rememberTarget(store.target); // reopens the sessions (and stores) of recovered runs
  for (const agent of agentList) registerAgent(agent);
  workerSettings.modelProvider = options.modelProvider;
  await ensureLaunched(store.target, {
    worker: true,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.executorId !== undefined ? { executorId: options.executorId } : {}),
  });
  const byName = new Map(agentList.map((a) => [a.name, a]));
  const interval = options.pollIntervalMs ?? 1000;
  const running = new Set<Promise<unknown>>();
  while (!options.signal?.aborted) {
    if (options.resumeApproved ?? true) {
      for (const runId of await approvals.readyForTypeScript(store)) {
        const { metadata } = await runRow(store, runId);
        const agent = byName.get(String(metadata.durable_agent ?? ''));
        if (!agent) continue;
        const task = resume(runId, {
          store,
          agent,
          ...(options.modelProvider ? { modelProvider: options.modelProvider } : {}),
        }).catch((error: unknown) => {
          if (!(error instanceof RunNotWaitingError)) {
            process.stderr.write(`timestep: resuming run '${runId}' failed: ${String(error)}\n`);
          }
        });
        running.add(task);
        void task.finally(() => running.delete(task));
      }
    }
    await new Promise<void>((wake) => {
      const timer = setTimeout(wake, interval);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        wake();
      });
    });
  }
  await Promise.allSettled([...running]);
}

/**
 * @deprecated `runAgent` with a `runId` is durable by default now (as Python's `run_agent` with
 * `run_id`); this does nothing more. Kept so existing callers keep working.
 */
export async function enableDurableRuns(): Promise<void> {
  // nothing to do: runAgent routes every request with a runId here unless `durable: false`
}
