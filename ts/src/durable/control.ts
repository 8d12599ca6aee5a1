/**
 * Run control of durable TypeScript runs: cancel, fork from step N into a new run, enqueue a new
 * run for the workers. The twins of Python's `cancel_run`, `fork_run` and `enqueue_run` (same
 * rules, store rows and typed errors).
 *
 * Across languages: on a Postgres store both languages' segments live in one system database, so
 * either language cancels the other's running segment (it stops at its next step). On a SQLite or
 * file store each language has its own (Python's SQLite file, TypeScript's embedded PGlite):
 * cancelling a run that is running in the other language is a `ConfigurationError` naming the
 * other language's API, and nothing changes. A waiting (or finished) run has no segment to stop
 * and is cancelled from either language. Forking copies a segment's recorded steps, which only
 * its own language can replay: forking the other language's segment is a `ConfigurationError`.
 */
import type { Agent, AgentInputItem } from '@openai/agents';
import { ConfigurationError, RunNotFoundError } from '../errors.js';
import { publicDbUrl } from '../session.js';
import { RunStateStore, utcNow, type RunFilter, type RunSummary } from '../store/index.js';
import { systemDatabaseFor } from './config.js';
import * as names from './names.js';
import { engineStepId, publicStepId } from './history.js';
import { describeError, type SegmentSpec } from './segment.js';
import { segmentLanguage, sharesSystemDatabase, withSystem } from './system.js';
import { givenStore } from '../store/given.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
type Language = 'python' | 'typescript';

const API: Record<Language, { cancel: string; fork: string }> = {
  python: { cancel: "Python's cancel_run (`timestep cancel`)", fork: "Python's fork_run (`timestep fork`)" },
  typescript: { cancel: "TypeScript's cancelRun", fork: "TypeScript's forkRun" },
};
const LANGUAGE_NAME: Record<Language, string> = { python: 'Python', typescript: 'TypeScript' };

async function findRun(store: RunStateStore, runId: string): Promise<RunSummary | undefined> {
  try {
    return await store.run(runId);
  } catch (error) {
    if (error instanceof RunNotFoundError) return undefined;
    throw error;
  }
}

/**
 * The language whose durable engine runs `run`'s segments: `durable_language` in its metadata
 * (TypeScript's segments write it; a run can be handed over), else Python for a durable run
 * (`durable_agent`), else the language of its latest state.
 */
export function runLanguage(run: RunSummary): Language {
  const meta = run.metadata as Record<string, unknown>;
  if (meta.durable_language === 'python' || meta.durable_language === 'typescript') return meta.durable_language;
  if (meta.durable_agent !== undefined) return 'python';
  return run.language === 'typescript' ? 'typescript' : 'python';
}

/**
 * Runs in the store with their status (`running`, `waiting`, `done`, ...), filtered and paged as
 * `RunStateStore.listRuns` (`status`, `agent`, `updatedSince`, `search`, `limit`, `offset`):
 * Python's `list_runs`.
 */
export async function listRuns(
  options: RunFilter & { store?: RunStateStore; limit?: number; offset?: number } = {},
): Promise<RunSummary[]> {
  const { store, ...filter } = options;
  return givenStore(store).listRuns(filter);
}

export interface CancelRunOptions {
  store?: RunStateStore;
  /** Who cancelled the run (recorded as `cancelled_by`, and in its `error`). */
  by?: string;
}

/**
 * Cancel a run: its running segment stops at the next step and the run becomes `cancelled`.
 * The run's metadata records `cancelled_at` (and `cancelled_by` with `by`), and its `error` says
 * who cancelled it. Returns true when a running or queued durable segment was cancelled, false
 * when there was none (then only the run's status changes; `RunNotFoundError` if the store has no
 * such run either). A run running in Python on a SQLite or file store: `ConfigurationError`.
 */
export async function cancelRun(runId: string, options: CancelRunOptions = {}): Promise<boolean> {
  const store = givenStore(options.store);
  const run = await findRun(store, runId);
  if (run && run.status === 'running' && runLanguage(run) === 'python' && !sharesSystemDatabase(store.target)) {
    throw new ConfigurationError(
      `run '${runId}' is running in Python, whose DBOS system database TypeScript cannot reach on ` +
        `${store.url}; cancel it with ${API.python.cancel}`,
    );
  }
  const metadata: Record<string, unknown> = {
    cancelled_at: utcNow(),
    error: `run '${runId}' was cancelled${options.by ? ` by ${options.by}` : ''}`,
  };
  if (options.by) metadata.cancelled_by = options.by;
  return withSystem(store, async (system) => {
    // The run's row first, so a segment stopping meanwhile finds who cancelled it.
    let stored = run !== undefined;
    if (stored) await store.setStatus(runId, 'cancelled', { metadata: metadata as never });
    let stopped = false;
    for (const segment of await system.segments(runId)) {
      if (segment.status === 'PENDING' || segment.status === 'ENQUEUED') {
        await system.cancel(segment.workflowID);
        stopped = true;
      }
    }
    if (!stored && stopped) {
      // a queued first segment may have started (and written its row) meanwhile
      try {
        await store.setStatus(runId, 'cancelled', { metadata: metadata as never });
        stored = true;
      } catch (error) {
        if (!(error instanceof RunNotFoundError)) throw error;
      }
    } else if (!stored) {
      throw new RunNotFoundError(`no run '${runId}' in ${store.url}`);
    }
    return stopped;
  });
}

export interface ForkRunOptions {
  /**
   * Steps numbered below it (`recordedSteps`' `stepId`, from 1) return their recorded outputs; it
   * and later ones run again (0 or 1: every step).
   */
  fromStep: number;
  store?: RunStateStore;
  /** The segment to fork (its base version; default: the run's last segment). */
  segmentVersion?: number;
  /** Allow running a human-approved tool call again (a step at or after `fromStep`). */
  rerunApproved?: boolean;
}

/**
 * Copy a run's segment into `newRunId`, replaying steps before `fromStep`; the new segment runs on
 * a TypeScript worker. Returns its workflow id (`<newRunId>@<version>`). The same rules as
 * Python's `fork_run`, with the same step numbers (`recordedSteps`' `stepId`, from 1): `fromStep`
 * at most the segment's last recorded step (`ConfigurationError` otherwise; 0 or 1 runs every
 * step again); re-running an approved tool call needs `rerunApproved`;
 * the new run is stored at once (`running`, a copy of the version its segment starts from) with
 * `metadata.forked_from = { run_id, segment, step }`. A Python segment: `ConfigurationError`.
 */
export async function forkRun(runId: string, newRunId: string, options: ForkRunOptions): Promise<string> {
  const store = givenStore(options.store);
  const { fromStep } = options;
  if (!Number.isInteger(fromStep)) throw new ConfigurationError(`fromStep must be an integer, not ${String(fromStep)}`);
  return withSystem(store, async (system) => {
    const segments = await system.segments(runId);
    let base = options.segmentVersion;
    const latest = segments[segments.length - 1];
    if (base === undefined) {
      if (!latest) {
        const run = await findRun(store, runId);
        if (run && runLanguage(run) === 'python') otherLanguage(runId, 'python');
        throw new RunNotFoundError(`no durable segment of run '${runId}'`);
      }
      base = Number(latest.workflowID.split('@').pop());
    }
    const source = names.segmentId(runId, base);
    const newId = names.segmentId(newRunId, base);
    const found = segments.find((s) => s.workflowID === source);
    if (found && segmentLanguage(found) === 'python') otherLanguage(runId, 'python', source);
    // public step numbers (from 1, as Python's): DBOS TypeScript's function ids start at 0
    const steps = (found ? await system.steps(source) : []).map((s) => ({
      id: publicStepId(s.functionID, 'typescript'),
      name: s.name,
    }));
    if (steps.length === 0) throw new RunNotFoundError(`no durable segment '${source}' of run '${runId}'`);
    const ids = steps.map((s) => s.id).sort((a, b) => a - b);
    if (!(fromStep >= 0 && fromStep <= ids[ids.length - 1]!)) {
      throw new ConfigurationError(
        `run '${runId}' has no step ${fromStep} to fork at: its segment '${source}' recorded steps ` +
          `${ids[0]} to ${ids[ids.length - 1]} (see \`timestep runs show ${runId}\`)`,
      );
    }
    if (!options.rerunApproved) await refuseApprovedReruns(store, runId, base, steps, fromStep);
    if (await findRun(store, newRunId)) {
      throw new ConfigurationError(`run '${newRunId}' already exists; choose a new run id`);
    }
    await storeFork(store, runId, base, newRunId, { run_id: runId, segment: source, step: fromStep });
    try {
      await system.fork(source, engineStepId(fromStep, 'typescript'), newId);
    } catch (error) {
      try {
        await store.setStatus(newRunId, 'failed', { metadata: { error: describeError(error) } });
      } catch (inner) {
        if (!(inner instanceof RunNotFoundError)) throw inner;
      }
      throw error;
    }
    return newId;
  });
}

function otherLanguage(runId: string, language: Language, segment?: string): never {
  const what = segment ? `segment '${segment}'` : 'durable segments';
  throw new ConfigurationError(
    `run '${runId}': its ${what} ran in ${LANGUAGE_NAME[language]}, whose recorded steps only ` +
      `${LANGUAGE_NAME[language]} can replay; fork it with ${API[language].fork}`,
  );
}

async function refuseApprovedReruns(
  store: RunStateStore,
  runId: string,
  base: number,
  steps: { id: number; name: string }[],
  fromStep: number,
): Promise<void> {
  if (base === 0) return; // a first segment runs no approved call: approvals start the next segment
  const approved = new Set(
    (await store.decisions(runId, { version: base })).filter((d) => d.decision === 'approve').map((d) => d.toolName),
  );
  const stepNames = new Set([...approved].flatMap((t) => [names.toolStep(t), names.mcpStep(t)]));
  const again = steps
    .filter((s) => s.id >= fromStep && stepNames.has(s.name))
    .map((s) => `${s.name} (step ${s.id})`);
  if (again.length > 0) {
    throw new ConfigurationError(
      `forking run '${runId}' at step ${fromStep} would run approved tool calls again with no new ` +
        `decision: ${again.join(', ')}; fork at a later step, or pass rerunApproved: true to run them again`,
    );
  }
}

/**
 * Store the new run at once, with its lineage, as a copy of the version it starts from. A first
 * segment starts from no stored version: its run's earliest version (holding the input) stands in.
 */
async function storeFork(
  store: RunStateStore,
  runId: string,
  base: number,
  newRunId: string,
  lineage: Record<string, unknown>,
): Promise<void> {
  let origin;
  let meta: Record<string, unknown>;
  try {
    origin = base > 0 ? await store.get(runId, { version: base }) : await store.get(runId, { version: (await store.versions(runId))[0]?.version ?? -1 });
    meta = (await store.run(runId)).metadata as Record<string, unknown>;
  } catch (error) {
    if (error instanceof RunNotFoundError) return; // the fork's segment stores it
    throw error;
  }
  if (origin.stateJson === null) return;
  const metadata: Record<string, unknown> = { forked_from: lineage };
  for (const key of ['durable_agent', 'durable_session', 'durable_language']) {
    if (key in meta) metadata[key] = meta[key];
  }
  await store.saveJson(newRunId, origin.stateJson, {
    language: origin.language,
    sdkVersion: origin.sdkVersion,
    status: 'running',
    expectedVersion: 0,
    metadata: metadata as never,
  });
}

export interface EnqueueRunOptions {
  runId: string;
  store?: RunStateStore;
  maxTurns?: number;
  stream?: boolean;
  /** A model name for agents without one, persisted with the run. */
  model?: string;
  /** The run context: a JSON object (the worker's segment gets it back). */
  context?: Record<string, unknown>;
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

/**
 * Queue a new durable run for the TypeScript workers (which must know the agent, by name). Its
 * first segment `<runId>@0` waits on the `timestep-ts` queue until a `worker()` takes it. On the
 * embedded PGlite the queue lives in the store's PGlite directory: enqueue from the worker's
 * process, or while no process holds it (a live holder is a `SystemDatabaseLockedError`).
 */
export async function enqueueRun(
  agent: string | AnyAgent,
  input: string | AgentInputItem[],
  options: EnqueueRunOptions,
): Promise<void> {
  if (options.context !== undefined && !isJsonObject(options.context)) {
    throw new ConfigurationError('enqueueRun({ context }) must be a JSON object');
  }
  const agentName = typeof agent === 'string' ? agent : agent.name;
  const store = givenStore(options.store);
  systemDatabaseFor(store.target); // a typed error for a store that cannot hold durable runs
  const spec: SegmentSpec = {
    agent: agentName,
    store: publicDbUrl(store.target), // no password persisted: resolved from known targets
    max_turns: options.maxTurns ?? 10,
    stream: options.stream ?? false,
    language: 'typescript',
    input,
  };
  if (options.model !== undefined) spec.model = options.model;
  if (options.context !== undefined) spec.context = options.context;
  await withSystem(store, (system) => system.enqueue(options.runId, 0, spec), { create: true });
}
