/** The JS SDK's canonical tool-invocation identity (agents-core toolInvocation, reimplemented). */
import { type Json, stableStringify, toPyErr } from './common.js';

export const TOKEN = '\u0000openai-agents-json:';
export const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

export function canonicalNumber(text: string): string {
  const lower = text.toLowerCase();
  const [mantissa = '', exponentText = '0'] = lower.split('e');
  const negative = mantissa.startsWith('-');
  const unsigned = negative ? mantissa.slice(1) : mantissa;
  const [integer = '', fraction = ''] = unsigned.split('.');
  let digits = `${integer}${fraction}`.replace(/^0+/, '');
  if (digits.length === 0) return negative ? '-0' : '0';
  let exponent = BigInt(exponentText) - BigInt(fraction.length);
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent += 1n;
  }
  return `${negative ? '-' : ''}${digits}e${exponent}`;
}

export function encodeJsonNumbers(value: string, keepLiteral = false): string {
  let encoded = '';
  let index = 0;
  while (index < value.length) {
    const character = value[index]!;
    if (character === '"') {
      let end = index + 1;
      while (end < value.length) {
        if (value[end] === '\\') {
          end += 2;
          continue;
        }
        if (value[end] === '"') {
          end += 1;
          break;
        }
        end += 1;
      }
      const token = value.slice(index, end);
      const decoded = JSON.parse(token) as string;
      encoded +=
        decoded.startsWith(TOKEN)
          ? JSON.stringify(`${TOKEN}string:${decoded}`)
          : token;
      index = end;
      continue;
    }
    if (character === '-' || (character >= '0' && character <= '9')) {
      const match = value.slice(index).match(NUMBER);
      if (!match) throw new Error('Invalid JSON number.');
      encoded += JSON.stringify(
        keepLiteral ? `${TOKEN}literal:${match[0]}` : `${TOKEN}number:${canonicalNumber(match[0])}`,
      );
      index += match[0].length;
      continue;
    }
    encoded += character;
    index += 1;
  }
  return encoded;
}

export function normalizeJsonString(value: string): Json {
  try {
    return { format: 'json', value: JSON.parse(encodeJsonNumbers(value)) as unknown };
  } catch {
    return { format: 'raw', value };
  }
}

/** JS 1.22 fingerprint of a direct `function_call` (function tool or handoff). */
export function functionCallFingerprint(toolName: string, args: string): string {
  return stableStringify({
    caller: { type: 'direct' },
    type: 'function_call',
    toolName,
    payload: normalizeJsonString(args),
  });
}

export function bareStateKey(name: string): string {
  return JSON.stringify(['bare', name]);
}

export function handoffToolName(name: string): string {
  return `handoff:${name}`;
}

export function parseBareKey(stateKey: string): string {
  let parts: unknown;
  try {
    parts = JSON.parse(stateKey);
  } catch {
    parts = undefined;
  }
  if (
    Array.isArray(parts) &&
    parts.length === 2 &&
    parts[0] === 'bare' &&
    typeof parts[1] === 'string' &&
    parts[1]
  ) {
    return parts[1];
  }
  throw toPyErr('functionToolStateKey', `only bare top-level tools, got ${stateKey}`);
}
