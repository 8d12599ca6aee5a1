/**
 * Durable execution of TypeScript runs on DBOS Transact: every model call, function-tool call and
 * handoff a checkpointed step; approvals that wait in the store; workers that resume runs. The
 * twin of Python's `timestep.durable` (same workflow and step names, workflow ids, idempotency
 * keys and store rows). Decisions are recorded with `approve`/`reject` (../decisions.ts).
 * See docs/durable-typescript.md.
 */
export {
  enableDurableRuns,
  resume as resumeDurable,
  runDurable,
  runRequestDurably,
  setResumeLanguage,
  worker,
  type DurableRunOptions,
  type ResumeOptions as DurableResumeOptions,
  type WorkerOptions,
} from './api.js';
export {
  APPLICATION_NAME as DURABLE_APPLICATION_NAME,
  APPLICATION_VERSION as DURABLE_APPLICATION_VERSION,
  QUEUE_NAME as DURABLE_QUEUE_NAME,
  shutdown as shutdownDurable,
  systemDatabaseFor,
  type SystemDatabase,
} from './config.js';
export {
  cancelRun,
  enqueueRun,
  forkRun,
  listRuns,
  type CancelRunOptions,
  type EnqueueRunOptions,
  type ForkRunOptions,
} from './control.js';
export { recordedSteps, type DurableStep } from './history.js';
export { prepareSystemDatabase, systemDatabaseUrl } from './system.js';
export { registerAgent } from './segment.js';
export { idempotencyKey } from './steps.js';
export { attachStream, type AttachStreamOptions } from './streamReader.js';
export * as durableNames from './names.js';
