/** Python's invocation ledger hashes (agents._tool_invocation, reimplemented). */
import { createHash } from 'node:crypto';
import { CorruptStateError } from '../errors.js';
import type { Json } from './common.js';
import { TOKEN, encodeJsonNumbers } from './jsIdentity.js';

/** A number as Python's json.loads would produce it: an int or a float, kept apart. */
export class PyNumber {
  constructor(
    readonly literal: string,
    readonly isFloat: boolean,
  ) {}
}

/** Python's float repr (shortest round-trip digits; exponent form below 1e-4 or from 1e16). */
export function pythonFloatRepr(value: number): string {
  if (!Number.isFinite(value)) throw new CorruptStateError('non-finite number in arguments');
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number.parseInt(exponentText, 10);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${head}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent >= 0) {
    if (digits.length <= exponent + 1) return `${sign}${digits.padEnd(exponent + 1, '0')}.0`;
    return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  }
  return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
}

/** Python `json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`. */
export function pythonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PyNumber) {
    return value.isFloat
      ? pythonFloatRepr(Number(value.literal))
      : BigInt(value.literal.replace(/^-0$/, '0')).toString();
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonDumps).join(',')}]`;
  const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${pythonDumps(v)}`).join(',')}}`;
}

/** Python's `_normalize_arguments`: parsed JSON (ints and floats apart), or the raw text. */
export function pythonArguments(text: string): unknown {
  const literal = `${TOKEN}literal:`;
  try {
    return JSON.parse(encodeJsonNumbers(text, true), (_key, current: unknown) => {
      if (typeof current === 'string' && current.startsWith(TOKEN)) {
        if (current.startsWith(literal)) {
          const number = current.slice(literal.length);
          return new PyNumber(number, /[.eE]/.test(number));
        }
        return current.slice(`${TOKEN}string:`.length);
      }
      return current;
    }) as unknown;
  } catch {
    return text;
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** @internal Python's approval scope of a bare function tool (exported for tests). */
export function pythonScope(name: string, role: string | null): string {
  const payload: Json = { type: 'function_call', tool_lookup_key: ['bare', name] };
  if (role !== null) payload.invocation_role = role;
  return sha256(pythonDumps(payload));
}

/** @internal Python's ledger fingerprint of a direct function call (exported for tests). */
export function pythonFingerprint(scope: string, args: string): string {
  return sha256(
    pythonDumps({
      approval_scope: scope,
      arguments: pythonArguments(args),
      type: 'function_call',
    }),
  );
}
