/**
 * runAgent / consumeResult: the small surface of timestep in TypeScript, mirroring Python's
 * `run_agent` / `consume_result`. With a `runId`, the run's state is saved to the store at its end
 * or interruption (status `waiting` when approvals are pending, else `done`).
 */
import { Runner, RunState } from '@openai/agents';
import type {
  Agent,
  AgentInputItem,
  ModelProvider,
  RunResult,
  Session,
  StreamedRunResult,
} from '@openai/agents';
import { savedOf } from './durable/saves.js';
import { ConfigurationError } from './errors.js';
import { MultiModelProvider } from './providers.js';
import { inheritStoredVersion, RunStateStore, type StoredState } from './store.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyResult = RunResult<any, any> | StreamedRunResult<any, any>;

export interface RunAgentOptions {
  session?: Session;
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
   * Run durably (needs `runId`): each model and tool call a checkpointed DBOS step, approvals
   * that wait in the store; see `runDurable` (docs/durable-typescript.md).
   */
  durable?: boolean;
}

const pendingSaves = new WeakMap<object, Promise<StoredState | undefined>>();

async function saveResult(
  result: AnyResult,
  store: RunStateStore,
  runId: string,
): Promise<StoredState> {
  const status = result.interruptions.length > 0 ? 'waiting' : 'done';
  return store.save(result.state, { runId, status });
}

/**
 * Run (or resume, when `input` is a RunState) an agent with the stock JS SDK. Model names are
 * routed by `MultiModelProvider` (`gpt-4.1`, `ollama/qwen2.5`, ...) unless a `runner` or
 * `modelProvider` is given.
 */
export async function runAgent(
  agent: AnyAgent,
  input: string | AgentInputItem[] | RunState<unknown, AnyAgent>,
  options: RunAgentOptions = {},
): Promise<AnyResult> {
  if (options.durable) {
    if (options.runId === undefined) throw new ConfigurationError('durable runs need a runId');
    const { runDurable } = await import('./durable/api.js');
    return runDurable(agent, input, {
      runId: options.runId,
      stream: options.stream ?? false,
      ...(options.store ? { store: options.store } : {}),
      ...(options.maxTurns !== undefined ? { maxTurns: options.maxTurns } : {}),
      ...(options.context !== undefined ? { context: options.context } : {}),
      ...(options.modelProvider ? { modelProvider: options.modelProvider } : {}),
    });
  }
  const runner =
    options.runner ?? new Runner({ modelProvider: options.modelProvider ?? new MultiModelProvider() });
  const runOptions: Record<string, unknown> = {};
  if (options.session !== undefined) runOptions.session = options.session;
  if (options.maxTurns !== undefined) runOptions.maxTurns = options.maxTurns;
  if (options.context !== undefined) runOptions.context = options.context;
  const store = options.runId !== undefined ? (options.store ?? new RunStateStore()) : undefined;
  if (options.stream) {
    const result = (await runner.run(agent, input as string, {
      ...runOptions,
      stream: true,
    })) as StreamedRunResult<unknown, AnyAgent>;
    if (input instanceof RunState) inheritStoredVersion(input, result.state);
    if (store && options.runId !== undefined) {
      const runId = options.runId;
      pendingSaves.set(
        result,
        result.completed.then(() => saveResult(result, store, runId)),
      );
    }
    return result;
  }
  const result = (await runner.run(agent, input as string, runOptions)) as RunResult<
    unknown,
    AnyAgent
  >;
  if (input instanceof RunState) inheritStoredVersion(input, result.state);
  if (store && options.runId !== undefined) await saveResult(result, store, options.runId);
  return result;
}

/** Drain a streamed result (a no-op for a finished one) and wait for its save, if any. */
export async function consumeResult<T extends AnyResult>(result: T): Promise<T> {
  if ('completed' in result && typeof result.completed?.then === 'function') {
    const streamed = result as StreamedRunResult<unknown, AnyAgent>;
    for await (const _event of streamed) {
      // draining
    }
    await streamed.completed;
  }
  await pendingSaves.get(result);
  await savedOf(result);
  return result;
}
