/**
 * Decode what a store reads back (text, JSON, side columns, file wrappers) into typed values or a
 * `CorruptStateError` naming where the bad value is: the twin of Python's `state/_decode.py`.
 */
import { CorruptStateError } from '../errors.js';
import type { Json } from '../translate/index.js';
import { RUN_STATUSES, type PendingApproval } from './records.js';

const PENDING_FIELDS = ['call_id', 'tool_name', 'arguments', 'agent_name'] as const;

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value === 'number' ? 'a number' : typeof value;
}

/** `raw` as text: strings as they are, UTF-8 bytes decoded strictly. */
export function textOf(raw: unknown, where: string): string {
  if (typeof raw === 'string') return raw;
  if (raw instanceof Uint8Array) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new CorruptStateError(`${where} is not UTF-8 text`);
    }
  }
  throw new CorruptStateError(`${where} is not text but ${jsonType(raw)}`);
}

/** Parse JSON text (or UTF-8 bytes). */
export function jsonValue(raw: unknown, where: string): unknown {
  const text = textOf(raw, where);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CorruptStateError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pending approvals from their decoded JSON form (a list of four-string objects). */
export function pendingList(value: unknown, where: string): PendingApproval[] {
  if (!Array.isArray(value)) throw new CorruptStateError(`${where} is not a list but ${jsonType(value)}`);
  return value.map((entry, index) => {
    if (!isObject(entry)) {
      throw new CorruptStateError(`${where}[${index}] is not an object but ${jsonType(entry)}`);
    }
    for (const name of PENDING_FIELDS) {
      if (typeof entry[name] !== 'string') {
        throw new CorruptStateError(`${where}[${index}] has no text field '${name}'`);
      }
    }
    return {
      callId: entry.call_id as string,
      toolName: entry.tool_name as string,
      arguments: entry.arguments as string,
      agentName: entry.agent_name as string,
    };
  });
}

/** Parse a `pending_approvals` column (JSON text). */
export function pendingColumn(raw: unknown, where: string): PendingApproval[] {
  return pendingList(jsonValue(raw, where), where);
}

/** Parse a run's `metadata` column (a JSON object, or NULL / empty for none). */
export function metadataColumn(raw: unknown, where: string): Json {
  if (raw === null || raw === undefined || raw === '') return {};
  const value = jsonValue(raw, where);
  if (!isObject(value)) throw new CorruptStateError(`${where} is not a JSON object but ${jsonType(value)}`);
  return value;
}

/** A `pending_approvals` column; `CorruptStateError` naming `where` when unreadable. */
export function pendingFromRow(text: unknown, where = 'pending_approvals column'): PendingApproval[] {
  return pendingColumn(text ?? '[]', where);
}

/** Stored metadata with `extra` laid over it; unreadable text is kept under `unreadable_metadata`. */
export function mergedMetadata(raw: unknown, extra: Json | undefined, where = 'metadata column'): Json {
  let merged: Json;
  try {
    merged = metadataColumn(raw, where);
  } catch {
    merged = { unreadable_metadata: typeof raw === 'string' ? raw : String(raw) };
  }
  return { ...merged, ...(extra ?? {}) };
}

const ENTRY_TEXT_FIELDS = ['sdk_version', 'schema_version', 'agent_name', 'created_at'] as const;

function checkedEntry(entry: unknown, index: number, where: string): void {
  if (!isObject(entry)) throw new CorruptStateError(`${where}: versions[${index}] is not an object`);
  const version = entry.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw new CorruptStateError(`${where}: versions[${index}] has no integer 'version' (0 or more)`);
  }
  const here = `${where}: version ${version}`;
  if (!isObject(entry.state)) throw new CorruptStateError(`${here} has no 'state' object`);
  for (const name of ENTRY_TEXT_FIELDS) {
    if (typeof entry[name] !== 'string') throw new CorruptStateError(`${here} has no text field '${name}'`);
  }
  if (entry.language !== 'python' && entry.language !== 'typescript') {
    throw new CorruptStateError(`${here}: 'language' is not 'python' or 'typescript'`);
  }
  if (!RUN_STATUSES.includes(entry.status as never)) {
    throw new CorruptStateError(`${here}: 'status' is not one of ${RUN_STATUSES.join(', ')}`);
  }
  pendingList(entry.pending_approvals, `${here}: pending_approvals`);
}

/** A state file's wrapper, or `CorruptStateError` naming the first field of the wrong shape. */
export function checkedWrapper(doc: Json, where: string): Json {
  if (typeof doc.run_id !== 'string' || doc.run_id === '') {
    throw new CorruptStateError(`${where} names no run ('run_id' is missing or not text)`);
  }
  if (!Array.isArray(doc.versions)) throw new CorruptStateError(`${where}: 'versions' is not a list`);
  doc.versions.forEach((entry, index) => checkedEntry(entry, index, where));
  if (doc.metadata !== undefined && !isObject(doc.metadata)) {
    throw new CorruptStateError(`${where}: 'metadata' is not an object`);
  }
  if (doc.status !== undefined && !RUN_STATUSES.includes(doc.status as never)) {
    throw new CorruptStateError(`${where}: 'status' is not one of ${RUN_STATUSES.join(', ')}`);
  }
  if (typeof doc.created_at !== 'string') throw new CorruptStateError(`${where} has no 'created_at'`);
  return doc;
}
