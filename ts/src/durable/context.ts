/**
 * The segment a piece of code runs in (an AsyncLocalStorage set by the segment workflow), the tool
 * call it serves, and the idempotency key formula shared with Python.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import type { StreamLog } from './streamLog.js';

/** What the wrappers know about the segment they run in. */
export interface SegmentContext {
  runId: string;
  workflowId: string;
  /** The run's durable stream event log (streamed segments on a Postgres system database). */
  log?: StreamLog | undefined;
}

/** The segment whose workflow is running in this async context (undefined outside one). */
export const currentSegment = new AsyncLocalStorage<SegmentContext>();

/** The call id of the tool call running in this async context (set around each durable tool call). */
export const currentCall = new AsyncLocalStorage<string>();

/** The segment whose workflow code runs here (undefined inside a step or outside DBOS). */
export function active(): SegmentContext | undefined {
  const seg = currentSegment.getStore();
  if (!seg || DBOS.workflowID !== seg.workflowId || DBOS.isInStep()) return undefined;
  return seg;
}

/**
 * A key for de-duplicating a tool's side effect, identical across retries of the same call:
 * `sha256("<run id>:<call id>")` inside a durable run, `sha256(":<call id>")` outside one (the same
 * formula as Python's `idempotency_key`). Pass the tool's call id, or the `details` argument a
 * tool's `execute(input, context, details)` receives.
 */
export function idempotencyKey(call: string | { toolCall?: { callId?: string } } | undefined): string {
  const callId = typeof call === 'string' ? call : (call?.toolCall?.callId ?? '');
  const runId = currentSegment.getStore()?.runId ?? '';
  return createHash('sha256').update(`${runId}:${callId}`).digest('hex');
}
