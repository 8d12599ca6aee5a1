/**
 * runAgent / consumeResult: the small surface of timestep in TypeScript, mirroring Python's
 * `run_agent(agent, input, session=None, stream=False, *, run_id=..., store=...)` and
 * `consume_result`. With a `runId` the run is durable, as Python's always is: it runs as DBOS
 * workflow segments (ts/src/durable) whose model and tool calls are checkpointed steps, and its
 * state is saved to the store when it pauses or ends. `durable: false` opts out: the run's state
 * is still saved at its end or interruption (`waiting` / `done`; a run that throws is kept as
 * `failed` with its error in its metadata) but nothing is checkpointed in between.
 *
 * Every call is normalized into one `RunRequest`; requests with a `runId` go to the durable
 * engine (loaded on first use, so runs without one never load DBOS), the rest run here.
 */
import { RunContext, Runner, RunState } from '@openai/agents';
import type {
  Agent,
  AgentInputItem,
  ModelProvider,
  RunResult,
  Session,
  StreamedRunResult,
} from '@openai/agents';
import { savedOf } from './durable/saves.js';
import { ConfigurationError, RunFinishedError, StaleStateError } from './errors.js';
import { MultiModelProvider } from './models/index.js';
import { openSession } from './session.js';
import {
  inheritStoredVersion,
  originOf,
  isFinished,
  RunStateStore,
  type StoredState,
} from './store/index.js';
import type { Json } from './translate/index.js';
import { givenStore } from './store/given.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResult = RunResult<any, any> | StreamedRunResult<any, any>;
export type RunInput = string | AgentInputItem[] | RunState<unknown, AnyAgent>;

/** The SDK's default maximum number of turns, as Python's `DEFAULT_MAX_TURNS`. */
export const DEFAULT_MAX_TURNS = 10;

export interface RunAgentOptions {
  /** An SDK session, or a session id stored in the default database (`openSession`). */
  session?: Session | string;
  stream?: boolean;
  /** Save the run under this id (to `store`, or the default store). */
  runId?: string;
  store?: RunStateStore;
  maxTurns?: number;
  context?: unknown;
  /** The Runner to use (default: one routing models with `modelProvider`). */
  runner?: Runner;
  /** Routes model names to providers when no `runner` is given (default: `MultiModelProvider`). */
  modelProvider?: ModelProvider;
  /**
   * Default `true` with a `runId` (Python's `run_agent(..., run_id=...)` is always durable): each
   * model and tool call a checkpointed DBOS step, approvals that wait in the store, sessions read
   * and written once (see `runDurable`, docs/durable-typescript.md). `false`: the run is saved to
   * the store at its end or interruption but not checkpointed (a killed process loses it); no
   * DBOS is loaded. `true` without a `runId` is a `ConfigurationError`.
   */
  durable?: boolean;
}

/** One normalized runAgent call (what a durable runner receives). */
export interface RunRequest {
  agent: AnyAgent;
  input: RunInput;
  session: Session | undefined;
  stream: boolean;
  options: RunAgentOptions;
}

export type DurableRunner = (request: RunRequest) => Promise<AnyResult>;
let durableRunner: DurableRunner | undefined;

/** @internal Route durable runs to another engine (`undefined`: timestep's DBOS engine). */
export function setDurableRunner(runner: DurableRunner | undefined): void {
  durableRunner = runner;
}

const pendingSaves = new WeakMap<object, Promise<StoredState | undefined>>();

function isSession(value: unknown): value is Session {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { getSessionId?: unknown }).getSessionId === 'function'
  );
}

/** `(session?, stream?, options?)` or the older `(options)` as one request. */
function normalize(
  agent: AnyAgent,
  input: RunInput,
  sessionOrOptions: Session | string | null | RunAgentOptions | undefined,
  stream: boolean | undefined,
  options: RunAgentOptions | undefined,
): RunRequest {
  let opts: RunAgentOptions = options ?? {};
  let session: Session | string | undefined;
  if (
    typeof sessionOrOptions === 'object' &&
    sessionOrOptions !== null &&
    !isSession(sessionOrOptions)
  ) {
    if (options !== undefined || stream !== undefined) {
      throw new ConfigurationError(
        'runAgent(agent, input, options) takes no further arguments; use ' +
          'runAgent(agent, input, session, stream, options) for the positional form',
      );
    }
    opts = sessionOrOptions;
  } else if (sessionOrOptions !== null && sessionOrOptions !== undefined) {
    if (opts.session !== undefined) {
      throw new ConfigurationError('runAgent got a session twice (argument and options.session)');
    }
    session = sessionOrOptions;
  }
  session ??= opts.session;
  return {
    agent,
    input,
    session: typeof session === 'string' ? openSession(session) : session,
    stream: stream ?? opts.stream ?? false,
    options: opts,
  };
}

/** `Name: message` of an error, bounded, as Python records it in a run's metadata. */
export function describeError(error: unknown): string {
  const text =
    error instanceof Error ? `${error.name}: ${error.message}` : `Error: ${String(error)}`;
  return text.length <= 2000 ? text : `${text.slice(0, 1997)}...`;
}

async function saveResult(
  result: AnyResult,
  store: RunStateStore,
  runId: string,
): Promise<StoredState> {
  const status = result.interruptions.length > 0 ? 'waiting' : 'done';
  return store.save(result.state, { runId, status });
}

/**
 * Keep a run that threw visible: `failed` with `{ error }` in its metadata; a run that never
 * saved a version gets its start state as version 1 (as Python's `record_end`).
 */
async function recordFailure(request: RunRequest, store: RunStateStore, error: unknown) {
  const runId = request.options.runId!;
  const metadata: Json = { error: describeError(error) };
  if (!(request.input instanceof RunState)) {
    const start = new RunState(
      new RunContext(request.options.context),
      request.input,
      request.agent,
      request.options.maxTurns ?? DEFAULT_MAX_TURNS,
    );
    try {
      await store.save(start, { runId, status: 'failed', expectedVersion: 0, metadata });
      return;
    } catch (saveError) {
      if (!(saveError instanceof StaleStateError)) throw saveError;
    }
  }
  await store.setStatus(runId, 'failed', { metadata });
}

/** Run a normalized request with the stock SDK Runner (no runId, or `durable: false`). */
export async function runDirect(request: RunRequest): Promise<AnyResult> {
  const { agent, input, options } = request;
  const runner =
    options.runner ?? new Runner({ modelProvider: options.modelProvider ?? new MultiModelProvider() });
  const runOptions: Record<string, unknown> = {};
  if (request.session !== undefined) runOptions.session = request.session;
  if (options.maxTurns !== undefined) runOptions.maxTurns = options.maxTurns;
  if (options.context !== undefined) runOptions.context = options.context;
  const runId = options.runId;
  const store = runId !== undefined ? (givenStore(options.store)) : undefined;
  const fail = async (error: unknown): Promise<never> => {
    if (store) await recordFailure(request, store, error);
    throw error;
  };
  if (request.stream) {
    let result: StreamedRunResult<unknown, AnyAgent>;
    try {
      result = (await runner.run(agent, input as string, {
        ...runOptions,
        stream: true,
      })) as StreamedRunResult<unknown, AnyAgent>;
    } catch (error) {
      return fail(error);
    }
    if (input instanceof RunState) inheritStoredVersion(input, result.state);
    if (store && runId !== undefined) {
      pendingSaves.set(
        result,
        // The run's error reaches the caller through `completed` / consumeResult; here it is
        // only recorded, so an undrained result leaves no unhandled rejection.
        result.completed.then(
          () => saveResult(result, store, runId),
          async (error: unknown) => {
            await recordFailure(request, store, error);
            return undefined;
          },
        ),
      );
    }
    return result;
  }
  let result: RunResult<unknown, AnyAgent>;
  try {
    result = (await runner.run(agent, input as string, runOptions)) as RunResult<unknown, AnyAgent>;
  } catch (error) {
    return fail(error);
  }
  if (input instanceof RunState) inheritStoredVersion(input, result.state);
  if (store && runId !== undefined) await saveResult(result, store, runId);
  return result;
}

/**
 * Run (or resume, when `input` is a RunState) an agent: `runAgent(agent, input, session?,
 * stream?, options?)`, or `runAgent(agent, input, options)`. `session` is an SDK session or a
 * session id in the default database. Model names are routed by `MultiModelProvider`
 * (`gpt-4.1`, `ollama/qwen2.5`, ...) unless a `runner` or `modelProvider` is given. Throws
 * `RunFinishedError` for a state whose run already finished.
 *
 * With `runId` the run is durable (see `RunAgentOptions.durable`; `durable: false` opts out). A
 * process that ran durable runs keeps DBOS open: end it with `shutdownDurable()`.
 */
export async function runAgent(
  agent: AnyAgent,
  input: RunInput,
  session?: Session | string | null,
  stream?: boolean,
  options?: RunAgentOptions,
): Promise<AnyResult>;
export async function runAgent(
  agent: AnyAgent,
  input: RunInput,
  options?: RunAgentOptions,
): Promise<AnyResult>;
export async function runAgent(
  agent: AnyAgent,
  input: RunInput,
  sessionOrOptions?: Session | string | null | RunAgentOptions,
  stream?: boolean,
  options?: RunAgentOptions,
): Promise<AnyResult> {
  if (input instanceof RunState && isFinished(input)) {
    const origin = originOf(input);
    const where = origin ? ` (run '${origin.runId}', version ${origin.version})` : '';
    throw new RunFinishedError(
      `this state's run already finished${where}; start a new run with new input instead`,
    );
  }
  const request = normalize(agent, input, sessionOrOptions, stream, options);
  const { runId, durable } = request.options;
  if (runId === undefined) {
    if (durable === true) {
      throw new ConfigurationError('durable runs need a runId: runAgent(agent, input, { runId })');
    }
    return runDirect(request);
  }
  if (durable === false) return runDirect(request);
  if (durableRunner !== undefined) return durableRunner(request);
  const { runRequestDurably } = await import('./durable/api.js');
  return runRequestDurably(request);
}

/** Drain a streamed result (a no-op for a finished one) and wait for its save, if any. */
export async function consumeResult<T extends AnyResult>(result: T): Promise<T> {
  if ('completed' in result && typeof result.completed?.then === 'function') {
    const streamed = result as StreamedRunResult<unknown, AnyAgent>;
    try {
      for await (const _event of streamed) {
        // draining
      }
      await streamed.completed;
    } finally {
      await pendingSaves.get(result);
    }
  }
  await pendingSaves.get(result);
  await savedOf(result);
  return result;
}
