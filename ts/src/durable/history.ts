/**
 * The checkpointed steps DBOS recorded for a durable run's segments (read-only). The twin of
 * Python's `timestep.durable.recorded_steps` / `DurableStep`.
 */
import { RunStateStore } from '../store/index.js';
import { segmentLanguage, withSystem } from './system.js';
import { givenStore } from '../store/given.js';

/**
 * timestep numbers a segment's steps from 1 (its first step) whichever engine recorded it, as
 * Python's `recorded_steps` / `fork_run` do: DBOS TypeScript's function ids start at 0, Python
 * DBOS's at 1. These convert between the public number and the engine's id.
 */
export function publicStepId(functionId: number, language: 'python' | 'typescript'): number {
  return language === 'typescript' ? functionId + 1 : functionId;
}

/** The engine's function id of public step `step` (0 and 1 both mean "from the first step"). */
export function engineStepId(step: number, language: 'python' | 'typescript'): number {
  return language === 'typescript' ? Math.max(step - 1, 0) : step;
}

/** One recorded step of one segment (DBOS workflow) of a run (Python's `DurableStep`). */
export interface DurableStep {
  /** The segment's workflow id, `<runId>@<version>`. */
  segment: string;
  /** The step's number in its segment, from 1, whichever language's engine recorded it. */
  stepId: number;
  /** The persisted step name (`timestep.model.get_response`, `timestep.tool:<name>`, ...). */
  name: string;
  startedAtMs: number | null;
  durationMs: number | null;
  /** The step's error, when it failed. */
  error: string | null;
}

function errorText(error: unknown): string | null {
  if (error === null || error === undefined) return null;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Every recorded step of `runId`'s segments, segment by segment, in step order: TypeScript's
 * (embedded PGlite or Postgres) and, on a Postgres store, Python's too. Each segment's steps are
 * numbered from 1, as Python's `recorded_steps` numbers them.
 */
export async function recordedSteps(runId: string, options: { store?: RunStateStore } = {}): Promise<DurableStep[]> {
  const store = givenStore(options.store);
  return withSystem(store, async (system) => {
    const steps: DurableStep[] = [];
    for (const segment of await system.segments(runId)) {
      const language = segmentLanguage(segment);
      const infos = [...(await system.steps(segment.workflowID))].sort((a, b) => a.functionID - b.functionID);
      for (const info of infos) {
        const started = info.startedAtEpochMs ?? null;
        const completed = info.completedAtEpochMs ?? null;
        steps.push({
          segment: segment.workflowID,
          stepId: publicStepId(info.functionID, language),
          name: info.name,
          startedAtMs: started === null ? null : Number(started),
          durationMs: started === null || completed === null ? null : Number(completed) - Number(started),
          error: errorText(info.error),
        });
      }
    }
    return steps;
  });
}
