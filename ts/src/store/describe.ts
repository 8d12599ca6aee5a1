/** What a RunState document says about itself, in either SDK's format. */
import { CorruptStateError } from '../errors.js';
import { type Json, type Language, detectLanguage } from '../translate/index.js';
import type { PendingApproval, RunStatus } from './records.js';

export interface StateFacts {
  language: Language;
  schemaVersion: string;
  agentName: string;
  pendingApprovals: PendingApproval[];
  status: RunStatus;
}

export function get(obj: unknown, ...keys: string[]): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  for (const key of keys) {
    if (key in obj) return (obj as Json)[key];
  }
  return undefined;
}

/** What a state document says about itself (either SDK's format). */
export function stateFacts(doc: Json): StateFacts {
  const schemaVersion = doc.$schemaVersion;
  if (typeof schemaVersion !== 'string') {
    throw new CorruptStateError("not a RunState document: it has no string '$schemaVersion' field");
  }
  const agentName = get(get(doc, 'current_agent', 'currentAgent'), 'name');
  if (typeof agentName !== 'string') {
    throw new CorruptStateError('not a RunState document: it names no current agent');
  }
  const step = get(doc, 'current_step', 'currentStep') as Json | undefined | null;
  const pendingApprovals: PendingApproval[] = [];
  if (step && step.type === 'next_step_interruption') {
    for (const item of (get(step.data, 'interruptions') as Json[] | undefined) ?? []) {
      const raw = (get(item, 'raw_item', 'rawItem') ?? {}) as Json;
      const args = get(raw, 'arguments');
      pendingApprovals.push({
        callId: String(get(raw, 'call_id', 'callId', 'id') ?? ''),
        toolName: String(get(item, 'tool_name', 'toolName') ?? get(raw, 'name') ?? ''),
        arguments: typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args),
        agentName: String(get(get(item, 'agent'), 'name') ?? ''),
      });
    }
  }
  const responses = (get(doc, 'model_responses', 'modelResponses') as unknown[] | undefined) ?? [];
  let status: RunStatus = 'running';
  if (pendingApprovals.length > 0) status = 'waiting';
  else if (step && step.type === 'next_step_final_output') status = 'done';
  else if ((step === null || step === undefined) && responses.length > 0) status = 'done';
  return { language: detectLanguage(doc), schemaVersion, agentName, pendingApprovals, status };
}

/** Parse state JSON text into an object, naming the cause of a syntax error. */
export function parseStateText(text: string): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new CorruptStateError(`state is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CorruptStateError('state is not a JSON object');
  }
  return doc as Json;
}

/** True when `state` (a RunState or its JSON) already produced its final output. */
export function isFinished(state: { toJSON(): unknown } | Json): boolean {
  const doc = (typeof (state as { toJSON?: unknown }).toJSON === 'function'
    ? (state as { toJSON(): unknown }).toJSON()
    : state) as Json;
  return stateFacts(doc).status === 'done';
}
