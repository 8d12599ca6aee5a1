/** Shared pieces of the RunState translation: schema names, JSON types and small helpers. */
import { CorruptStateError, UnsupportedStateFeatureError } from '../errors.js';

export const PYTHON_SCHEMA = '1.21';
export const JS_SCHEMA = '1.22';
export const PY = `Python RunState ${PYTHON_SCHEMA}`;
export const JS = `JS RunState ${JS_SCHEMA}`;

export type Json = Record<string, unknown>;
export type Language = 'python' | 'typescript';

export const toJsErr = (feature: string, detail = '') =>
  new UnsupportedStateFeatureError(feature, PY, JS, detail);
export const toPyErr = (feature: string, detail = '') =>
  new UnsupportedStateFeatureError(feature, JS, PY, detail);

export function isObj(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function obj(value: unknown): Json {
  return isObj(value) ? value : {};
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function objs(value: unknown): Json[] {
  return arr(value).filter(isObj);
}

export function req(mapping: Json, key: string, where: string): unknown {
  if (!(key in mapping)) throw new CorruptStateError(`RunState ${where} has no '${key}' field`);
  return mapping[key];
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

export function agentRef(ref: unknown, where: string): Json {
  if (!isObj(ref) || typeof ref.name !== 'string') {
    throw new CorruptStateError(`RunState ${where} is not an agent reference`);
  }
  const out: Json = { name: ref.name };
  if (typeof ref.identity === 'string') out.identity = ref.identity;
  return out;
}

export function agentKey(ref: Json): string {
  return typeof ref.identity === 'string' ? ref.identity : str(ref.name);
}

export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObj(value)) return Object.keys(value).length === 0;
  return false;
}

export function requireEmpty(state: Json, keys: string[], toJs: boolean): void {
  for (const key of keys) {
    if (!isEmptyValue(state[key])) {
      throw (toJs ? toJsErr : toPyErr)(key, 'only empty values are supported');
    }
  }
}

/** JSON text with keys sorted at every level, compact separators, non-ASCII kept (Python and JS
 * agree on this form for the values found in states). */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, current: unknown) => {
    if (!isObj(current)) return current;
    return Object.fromEntries(
      Object.entries(current).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });
}
