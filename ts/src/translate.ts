/**
 * RunState translation between openai-agents (Python, schema 1.21) and @openai/agents
 * (JS, schema 1.22). The TypeScript twin of timestep's Python `timestep.state.translate`; both
 * are checked against the same vectors in tests/vectors/ and must produce identical documents.
 *
 * Both directions rebuild the ledgers each SDK checks before honouring an approval: Python's
 * `context.tool_invocations` (SHA-256 hashes) and JS's `approvalInvocations` /
 * `completedToolInvocations` (canonical fingerprints). Unsupported features throw
 * `UnsupportedStateFeatureError` naming the feature and the versions; never a silently wrong state.
 */
import { createHash } from 'node:crypto';

export const PYTHON_SCHEMA = '1.21';
export const JS_SCHEMA = '1.22';
const PY = `Python RunState ${PYTHON_SCHEMA}`;
const JS = `JS RunState ${JS_SCHEMA}`;

export type Json = Record<string, unknown>;
export type Language = 'python' | 'typescript';

export class TranslationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TranslationError';
  }
}

export class CorruptStateError extends TranslationError {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptStateError';
  }
}

export class UnsupportedStateFeatureError extends TranslationError {
  readonly feature: string;
  readonly source: string;
  readonly target: string;
  constructor(feature: string, source: string, target: string, detail = '') {
    super(
      `cannot translate RunState feature '${feature}' from ${source} to ${target}` +
        (detail ? `: ${detail}` : '') +
        '; resume this run in the language that wrote it',
    );
    this.name = 'UnsupportedStateFeatureError';
    this.feature = feature;
    this.source = source;
    this.target = target;
  }
}

export class UnsupportedSchemaVersionError extends TranslationError {
  constructor(
    readonly schemaVersion: unknown,
    readonly language: Language,
    readonly supported: string[],
  ) {
    super(
      `no translation for ${language} RunState schema ${JSON.stringify(schemaVersion)}; ` +
        `supported ${language} schemas: ${supported.join(', ')}`,
    );
    this.name = 'UnsupportedSchemaVersionError';
  }
}

const toJsErr = (feature: string, detail = '') =>
  new UnsupportedStateFeatureError(feature, PY, JS, detail);
const toPyErr = (feature: string, detail = '') =>
  new UnsupportedStateFeatureError(feature, JS, PY, detail);

// ---------------------------------------------------------------------------------------------
// small helpers

function isObj(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown): Json {
  return isObj(value) ? value : {};
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function objs(value: unknown): Json[] {
  return arr(value).filter(isObj);
}

function req(mapping: Json, key: string, where: string): unknown {
  if (!(key in mapping)) throw new CorruptStateError(`RunState ${where} has no '${key}' field`);
  return mapping[key];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function agentRef(ref: unknown, where: string): Json {
  if (!isObj(ref) || typeof ref.name !== 'string') {
    throw new CorruptStateError(`RunState ${where} is not an agent reference`);
  }
  const out: Json = { name: ref.name };
  if (typeof ref.identity === 'string') out.identity = ref.identity;
  return out;
}

function agentKey(ref: Json): string {
  return typeof ref.identity === 'string' ? ref.identity : str(ref.name);
}

function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObj(value)) return Object.keys(value).length === 0;
  return false;
}

function requireEmpty(state: Json, keys: string[], toJs: boolean): void {
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

// ---------------------------------------------------------------------------------------------
// JS canonical invocation identity (agents-core toolInvocation, reimplemented)

const TOKEN = '\u0000openai-agents-json:';
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

function canonicalNumber(text: string): string {
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

function encodeJsonNumbers(value: string, keepLiteral = false): string {
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

function normalizeJsonString(value: string): Json {
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

function handoffToolName(name: string): string {
  return `handoff:${name}`;
}

function parseBareKey(stateKey: string): string {
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

// ---------------------------------------------------------------------------------------------
// Python's invocation ledger hashes (agents._tool_invocation, reimplemented)

/** A number as Python's json.loads would produce it: an int or a float, kept apart. */
class PyNumber {
  constructor(
    readonly literal: string,
    readonly isFloat: boolean,
  ) {}
}

/** Python's float repr (shortest round-trip digits; exponent form below 1e-4 or from 1e16). */
function pythonFloatRepr(value: number): string {
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
function pythonDumps(value: unknown): string {
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
function pythonArguments(text: string): unknown {
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

function sha256(text: string): string {
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

// ---------------------------------------------------------------------------------------------
// usage

function numericDetails(entry: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value === 'number' && value !== 0) out[key] = value;
  }
  return out;
}

function usageDetailsToJs(details: unknown): Json[] {
  return objs(details)
    .map(numericDetails)
    .filter((entry) => Object.keys(entry).length > 0);
}

function mergeDetails(details: unknown): Json {
  const merged: Json = {};
  for (const entry of usageDetailsToJs(Array.isArray(details) ? details : [details])) {
    Object.assign(merged, entry);
  }
  return merged;
}

function usageToJs(usage: Json): Json {
  const out: Json = {
    requests: usage.requests ?? 0,
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    totalTokens: usage.total_tokens ?? 0,
    inputTokensDetails: usageDetailsToJs(usage.input_tokens_details),
    outputTokensDetails: usageDetailsToJs(usage.output_tokens_details),
  };
  const entries = objs(usage.request_usage_entries);
  if (entries.length > 0) {
    out.requestUsageEntries = entries.map((entry) => ({
      inputTokens: entry.input_tokens ?? 0,
      outputTokens: entry.output_tokens ?? 0,
      totalTokens: entry.total_tokens ?? 0,
      inputTokensDetails: mergeDetails(entry.input_tokens_details),
      outputTokensDetails: mergeDetails(entry.output_tokens_details),
    }));
  }
  return out;
}

function sumDetails(details: unknown, fields: string[]): Json {
  const totals: Json = Object.fromEntries(fields.map((f) => [f, 0]));
  const items = Array.isArray(details) ? details : details ? [details] : [];
  for (const entry of items.filter(isObj)) {
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') totals[key] = ((totals[key] as number) ?? 0) + value;
    }
  }
  return totals;
}

const PY_INPUT_DETAILS = ['cache_write_tokens', 'cached_tokens'];
const PY_OUTPUT_DETAILS = ['reasoning_tokens'];

function inputDetailsToPy(details: unknown): Json {
  const totals = sumDetails(details, PY_INPUT_DETAILS);
  if (!('cache_write_tokens_details' in totals)) totals.cache_write_tokens_details = null;
  return totals;
}

function usageToPy(usage: Json): Json {
  return {
    requests: usage.requests ?? 0,
    input_tokens: usage.inputTokens ?? 0,
    input_tokens_details: [inputDetailsToPy(usage.inputTokensDetails)],
    output_tokens: usage.outputTokens ?? 0,
    output_tokens_details: [sumDetails(usage.outputTokensDetails, PY_OUTPUT_DETAILS)],
    total_tokens: usage.totalTokens ?? 0,
    request_usage_entries: objs(usage.requestUsageEntries).map((entry) => ({
      input_tokens: entry.inputTokens ?? 0,
      output_tokens: entry.outputTokens ?? 0,
      total_tokens: entry.totalTokens ?? 0,
      input_tokens_details: inputDetailsToPy(entry.inputTokensDetails),
      output_tokens_details: sumDetails(entry.outputTokensDetails, PY_OUTPUT_DETAILS),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// raw items

function rawToJs(raw: unknown, names: Map<string, string>): Json {
  if (!isObj(raw)) throw new CorruptStateError('RunState item is not an object');
  const kind = raw.type;
  if (kind === 'function_call') {
    if (raw.namespace) throw toJsErr('namespaced function tools');
    if (raw.caller !== undefined && raw.caller !== null && obj(raw.caller).type !== 'direct') {
      throw toJsErr('programmatic tool calling');
    }
    const out: Json = { type: 'function_call' };
    if (raw.id) out.id = raw.id;
    out.callId = req(raw, 'call_id', 'function_call');
    out.name = req(raw, 'name', 'function_call');
    out.status = raw.status || 'completed';
    out.arguments = req(raw, 'arguments', 'function_call');
    return out;
  }
  if (kind === 'function_call_output') {
    const callId = str(req(raw, 'call_id', 'function_call_output'));
    const name = names.get(callId);
    if (name === undefined) {
      throw new CorruptStateError(`tool output '${callId}' has no matching call in the state`);
    }
    if (typeof raw.output !== 'string') {
      throw toJsErr('function_call_output.output', 'only text tool outputs');
    }
    return {
      type: 'function_call_result',
      name,
      callId,
      status: raw.status || 'completed',
      output: { type: 'text', text: raw.output },
    };
  }
  if (kind === 'message' || (kind === undefined && 'role' in raw)) return messageToJs(raw);
  if (kind === 'reasoning') {
    const out: Json = { type: 'reasoning' };
    if (raw.id) out.id = raw.id;
    out.content = objs(raw.summary).map((part) => ({ type: 'input_text', text: part.text ?? '' }));
    const rawContent = objs(raw.content).map((part) => ({
      type: 'reasoning_text',
      text: part.text ?? '',
    }));
    if (rawContent.length > 0) out.rawContent = rawContent;
    if (raw.encrypted_content) out.providerData = { encryptedContent: raw.encrypted_content };
    return out;
  }
  throw toJsErr(`item type ${JSON.stringify(kind)}`);
}

function messageToJs(raw: Json): Json {
  const role = raw.role;
  const content = raw.content;
  if (role === 'user' || role === 'system' || role === 'developer') {
    if (typeof content === 'string') return { type: 'message', role, content };
    return {
      type: 'message',
      role,
      content: arr(content).map((part) => {
        if (isObj(part) && part.type === 'input_text') {
          return { type: 'input_text', text: part.text ?? '' };
        }
        throw toJsErr('non-text input message content');
      }),
    };
  }
  if (role !== 'assistant') throw toJsErr(`message role ${JSON.stringify(role)}`);
  const parts: Json[] = [];
  if (typeof content === 'string') {
    parts.push({ type: 'output_text', text: content });
  } else {
    for (const part of arr(content)) {
      if (!isObj(part)) throw new CorruptStateError('assistant message content part is not an object');
      if (part.type === 'output_text') {
        const textPart: Json = { type: 'output_text', text: part.text ?? '' };
        if (arr(part.annotations).length > 0) {
          textPart.providerData = { annotations: part.annotations };
        }
        parts.push(textPart);
      } else if (part.type === 'refusal') {
        parts.push({ type: 'refusal', refusal: part.refusal ?? '' });
      } else {
        throw toJsErr(`assistant content part ${JSON.stringify(part.type)}`);
      }
    }
  }
  const out: Json = {};
  if (raw.id) out.id = raw.id;
  out.type = 'message';
  out.role = 'assistant';
  out.status = raw.status || 'completed';
  out.content = parts;
  return out;
}

function rawToPy(raw: unknown): Json {
  if (!isObj(raw)) throw new CorruptStateError('RunState item is not an object');
  const kind = raw.type;
  if (kind === 'function_call') {
    if (raw.namespace) throw toPyErr('namespaced function tools');
    if (raw.caller !== undefined && raw.caller !== null && obj(raw.caller).type !== 'direct') {
      throw toPyErr('programmatic tool calling');
    }
    const out: Json = {
      arguments: req(raw, 'arguments', 'function_call'),
      call_id: req(raw, 'callId', 'function_call'),
      name: req(raw, 'name', 'function_call'),
      type: 'function_call',
    };
    if (raw.id) out.id = raw.id;
    if (raw.status) out.status = raw.status;
    return out;
  }
  if (kind === 'function_call_result') {
    const output = raw.output;
    let text: string;
    if (typeof output === 'string') text = output;
    else if (isObj(output) && output.type === 'text') text = str(output.text ?? '');
    else throw toPyErr('function_call_result.output', 'only text tool outputs');
    return {
      call_id: req(raw, 'callId', 'function_call_result'),
      output: text,
      type: 'function_call_output',
    };
  }
  if (kind === 'message' || (kind === undefined && 'role' in raw)) return messageToPy(raw);
  if (kind === 'reasoning') {
    const out: Json = {
      id: raw.id || '',
      summary: objs(raw.content).map((part) => ({ text: part.text ?? '', type: 'summary_text' })),
      type: 'reasoning',
    };
    const rawContent = objs(raw.rawContent);
    if (rawContent.length > 0) {
      out.content = rawContent.map((part) => ({ text: part.text ?? '', type: 'reasoning_text' }));
    }
    const provider = obj(raw.providerData);
    if (provider.encryptedContent) out.encrypted_content = provider.encryptedContent;
    return out;
  }
  throw toPyErr(`item type ${JSON.stringify(kind)}`);
}

function messageToPy(raw: Json): Json {
  const role = raw.role;
  const content = raw.content;
  if (role === 'user' || role === 'system' || role === 'developer') {
    if (typeof content === 'string') return { content, role };
    return {
      content: arr(content).map((part) => {
        if (isObj(part) && part.type === 'input_text') {
          return { text: part.text ?? '', type: 'input_text' };
        }
        throw toPyErr('non-text input message content');
      }),
      role,
    };
  }
  if (role !== 'assistant') throw toPyErr(`message role ${JSON.stringify(role)}`);
  const parts = arr(content).map((part) => {
    if (!isObj(part)) throw new CorruptStateError('assistant message content part is not an object');
    if (part.type === 'output_text') {
      const provider = obj(part.providerData);
      return {
        annotations: Array.isArray(provider.annotations) ? provider.annotations : [],
        text: part.text ?? '',
        type: 'output_text',
        logprobs: [],
      };
    }
    if (part.type === 'refusal') return { refusal: part.refusal ?? '', type: 'refusal' };
    throw toPyErr(`assistant content part ${JSON.stringify(part.type)}`);
  });
  return {
    id: raw.id || 'msg_translated',
    content: parts,
    role: 'assistant',
    status: raw.status || 'completed',
    type: 'message',
  };
}

/** Guardrail results: both SDKs write the same camelCase records; validate and copy them. */
function guardrails(results: unknown, kind: 'input' | 'output'): Json[] {
  return arr(results).map((result) => {
    if (!isObj(result)) throw new CorruptStateError(`${kind} guardrail result is not an object`);
    const output = obj(result.output);
    const entry: Json = {
      guardrail: { type: kind, name: str(obj(result.guardrail).name ?? '') },
      output: {
        tripwireTriggered: Boolean(output.tripwireTriggered),
        outputInfo: output.outputInfo ?? null,
      },
    };
    if (kind === 'output') {
      entry.agentOutput = result.agentOutput ?? null;
      entry.agent = agentRef(result.agent, 'guardrail agent');
    }
    return entry;
  });
}

function decisionList(value: unknown): unknown {
  return typeof value === 'boolean' ? value : [...arr(value)];
}

const PLAIN_ITEMS = new Set([
  'tool_call_item',
  'message_output_item',
  'handoff_call_item',
  'reasoning_item',
]);

// ---------------------------------------------------------------------------------------------
// Python -> JS

class ToJs {
  readonly names = new Map<string, string>();

  constructor(readonly state: Json) {
    const visit = (raw: unknown) => {
      if (isObj(raw) && raw.type === 'function_call') {
        if (typeof raw.call_id === 'string' && typeof raw.name === 'string') {
          if (!this.names.has(raw.call_id)) this.names.set(raw.call_id, raw.name);
        }
      }
    };
    for (const response of objs(state.model_responses)) arr(response.output).forEach(visit);
    for (const key of ['generated_items', 'session_items']) {
      for (const item of objs(state[key])) visit(item.raw_item);
    }
    if (Array.isArray(state.original_input)) state.original_input.forEach(visit);
  }

  item(item: Json): Json {
    const kind = item.type;
    const raw = rawToJs(item.raw_item, this.names);
    if (kind === 'handoff_output_item') {
      return {
        type: kind,
        rawItem: raw,
        sourceAgent: agentRef(item.source_agent, 'handoff source'),
        targetAgent: agentRef(item.target_agent, 'handoff target'),
      };
    }
    const out: Json = { type: kind, rawItem: raw, agent: agentRef(item.agent, str(kind)) };
    if (kind === 'tool_call_output_item') {
      out.output = typeof item.output === 'string' ? item.output : obj(raw.output).text;
    } else if (kind === 'tool_approval_item') {
      out.toolName = item.tool_name || raw.name;
      out.functionToolStateKey = this.stateKey(item, raw);
    } else if (!PLAIN_ITEMS.has(str(kind))) {
      throw toJsErr(`run item ${JSON.stringify(kind)}`);
    }
    if ((kind === 'tool_call_item' || kind === 'tool_approval_item') && raw.type !== 'function_call') {
      throw toJsErr(`${str(kind)} for ${JSON.stringify(raw.type)}`);
    }
    return out;
  }

  private stateKey(item: Json, raw: Json): string {
    const lookup = item.tool_lookup_key;
    if (lookup === undefined || lookup === null) return bareStateKey(str(raw.name));
    if (isObj(lookup) && lookup.kind === 'bare') return bareStateKey(str(lookup.name));
    throw toJsErr('tool_lookup_key', `only bare top-level tools, got ${JSON.stringify(lookup)}`);
  }

  modelResponse(response: Json): Json {
    const out: Json = {
      usage: usageToJs(obj(response.usage)),
      output: arr(response.output).map((raw) => rawToJs(raw, this.names)),
    };
    if (response.response_id) out.responseId = response.response_id;
    if (response.request_id) out.requestId = response.request_id;
    return out;
  }

  private pendingIds(): Set<string> {
    const step = obj(this.state.current_step);
    const ids = new Set<string>();
    if (step.type === 'next_step_interruption') {
      for (const item of objs(obj(step.data).interruptions)) {
        const callId = obj(item.raw_item).call_id;
        if (typeof callId === 'string') ids.add(callId);
      }
    }
    return ids;
  }

  private callsById(): Map<string, [string, string, string]> {
    const calls = new Map<string, [string, string, string]>();
    for (const item of objs(this.state.generated_items)) {
      const raw = obj(item.raw_item);
      if (raw.type === 'function_call' && item.type !== 'handoff_call_item') {
        const agent = agentKey(agentRef(item.agent, 'tool call owner'));
        const callId = str(raw.call_id);
        if (!calls.has(callId)) calls.set(callId, [agent, str(raw.name), str(raw.arguments)]);
      }
    }
    return calls;
  }

  approvals(context: Json): [Json[], Json[]] {
    if (!isEmptyValue(context.approvals)) {
      throw toJsErr('context.approvals', 'non-function-tool approvals');
    }
    if (!isEmptyValue(context.hosted_mcp_approvals)) throw toJsErr('hosted MCP approvals');
    const calls = this.callsById();
    const functionApprovals = new Map<string, Json>();
    const invocations = new Map<string, Json>();
    for (const entry of objs(context.function_tool_approvals)) {
      const agent = agentKey(agentRef(entry.agent, 'function approval owner'));
      const toolKey = entry.tool_key;
      if (typeof toolKey !== 'string' || toolKey.includes('.')) {
        throw toJsErr('function_tool_approvals.tool_key', str(toolKey));
      }
      const decision = obj(entry.decision);
      const record: Json = {
        approved: decisionList(decision.approved),
        rejected: decisionList(decision.rejected),
      };
      if (!isEmptyValue(decision.rejection_messages)) {
        record.messages = { ...obj(decision.rejection_messages) };
      }
      if (decision.sticky_rejection_message !== undefined && decision.sticky_rejection_message !== null) {
        record.stickyRejectMessage = decision.sticky_rejection_message;
      }
      const approvalsForAgent = functionApprovals.get(agent) ?? {};
      approvalsForAgent[bareStateKey(toolKey)] = record;
      functionApprovals.set(agent, approvalsForAgent);
      const perCall: string[] = [];
      for (const field of ['approved', 'rejected']) {
        if (Array.isArray(record[field])) perCall.push(...(record[field] as string[]));
      }
      if (record.approved === true || record.rejected === true) {
        const pending = this.pendingIds();
        for (const [callId, [owner, name]] of calls) {
          if (owner === agent && name === toolKey && pending.has(callId)) perCall.push(callId);
        }
      }
      for (const callId of perCall) {
        const call = calls.get(callId);
        if (!call) throw new CorruptStateError(`approval for unknown call '${callId}'`);
        const byCall = invocations.get(agent) ?? {};
        byCall[callId] = functionCallFingerprint(bareStateKey(call[1]), call[2]);
        invocations.set(agent, byCall);
      }
    }
    return [
      [...functionApprovals].map(([agentIdentity, approvals]) => ({ agentIdentity, approvals })),
      [...invocations].map(([agentIdentity, inv]) => ({
        agentIdentity,
        invocations: inv,
        approvals: {},
      })),
    ];
  }

  completed(generated: Json[]): [Json[], Json[]] {
    const pending = new Map<string, [number, string]>();
    const completed = new Map<string, Json>();
    const evidence = new Map<string, Json>();
    generated.forEach((item, index) => {
      const kind = item.type;
      const raw = obj(item.rawItem);
      if (kind === 'tool_call_item' || kind === 'handoff_call_item' || kind === 'tool_approval_item') {
        const agent = agentKey(obj(item.agent));
        const toolName =
          kind === 'handoff_call_item'
            ? handoffToolName(str(raw.name))
            : typeof item.functionToolStateKey === 'string'
              ? item.functionToolStateKey
              : bareStateKey(str(raw.name));
        const key = JSON.stringify([agent, raw.callId]);
        if (!pending.has(key)) {
          pending.set(key, [index, functionCallFingerprint(toolName, str(raw.arguments))]);
        }
      } else if (kind === 'tool_call_output_item' || kind === 'handoff_output_item') {
        const owner = kind === 'handoff_output_item' ? obj(item.sourceAgent) : obj(item.agent);
        const agent = agentKey(owner);
        const key = JSON.stringify([agent, raw.callId]);
        const found = pending.get(key);
        if (!found) throw toJsErr('tool output without its call', `call '${str(raw.callId)}'`);
        pending.delete(key);
        const [callIndex, fingerprint] = found;
        const byCall = completed.get(agent) ?? {};
        byCall[str(raw.callId)] = fingerprint;
        completed.set(agent, byCall);
        const byCallEvidence = evidence.get(agent) ?? {};
        byCallEvidence[str(raw.callId)] = {
          fingerprint,
          items: [{ generatedItemIndex: callIndex }, { generatedItemIndex: index }],
        };
        evidence.set(agent, byCallEvidence);
      }
    });
    return [
      [...completed].map(([agentIdentity, invocations]) => ({ agentIdentity, invocations })),
      [...evidence].map(([agentIdentity, invocations]) => ({ agentIdentity, invocations })),
    ];
  }

  processedResponse(data: Json): Json {
    for (const key of [
      'computer_actions',
      'custom_tool_actions',
      'local_shell_actions',
      'shell_actions',
      'apply_patch_actions',
      'mcp_approval_requests',
    ]) {
      if (!isEmptyValue(data[key])) throw toJsErr(`last_processed_response.${key}`);
    }
    if (!isEmptyValue(data.mcp_tool_bindings)) throw toJsErr('MCP tool bindings');
    const functions = objs(data.functions).map((entry) => {
      if (entry.agent_run_state) throw toJsErr('agent-as-tool nested runs');
      const call = rawToJs(entry.tool_call, this.names);
      return {
        toolCall: call,
        tool: { type: 'function', name: obj(entry.tool).name || call.name },
        mcpToolBinding: null,
      };
    });
    const handoffs = objs(data.handoffs).map((entry) => {
      const call = rawToJs(entry.tool_call, this.names);
      return { toolCall: call, handoff: { toolName: obj(entry.handoff).tool_name || call.name } };
    });
    return {
      newItems: objs(data.new_items).map((item) => this.item(item)),
      toolsUsed: [...arr(data.tools_used)],
      handoffs,
      functions,
      functionToolsNotFound: [],
      computerActions: [],
      shellActions: [],
      applyPatchActions: [],
      mcpApprovalRequests: [],
    };
  }

  finalOutput(): unknown {
    if (this.state.current_step !== null && this.state.current_step !== undefined) return null;
    if (this.state.last_processed_response) return null;
    const items = objs(this.state.generated_items);
    const last = items[items.length - 1];
    if (!last || last.type !== 'message_output_item') return null;
    return objs(obj(last.raw_item).content)
      .filter((part) => part.type === 'output_text')
      .map((part) => str(part.text ?? ''))
      .join('');
  }

  currentStep(step: unknown, finalOutput: unknown): Json | null {
    if (step === null || step === undefined) {
      return finalOutput !== null ? { type: 'next_step_final_output', output: finalOutput } : null;
    }
    const kind = obj(step).type;
    if (kind === 'next_step_run_again') return { type: 'next_step_run_again' };
    if (kind === 'next_step_interruption') {
      return {
        type: 'next_step_interruption',
        data: {
          interruptions: objs(obj(obj(step).data).interruptions).map((item) => this.item(item)),
        },
      };
    }
    throw toJsErr(`current_step ${JSON.stringify(kind)}`);
  }

  run(): Json {
    const state = this.state;
    requireEmpty(
      state,
      [
        'tool_input_guardrail_results',
        'tool_output_guardrail_results',
        'nested_history_owned_session_item_refs',
        'pending_session_write',
        'sandbox',
        'terminal_unrecoverable',
      ],
      true,
    );
    const context = obj(req(state, 'context', 'root'));
    const pyContext = context.context;
    if (pyContext !== null && pyContext !== undefined && !isObj(pyContext)) {
      throw toJsErr('context.context', 'only mapping (JSON object) contexts');
    }
    if (obj(context.context_meta).requires_deserializer) {
      throw toJsErr('context.context', 'context needs a custom deserializer');
    }
    const [functionApprovals, approvalInvocations] = this.approvals(context);
    const generated = objs(state.generated_items).map((item) => this.item(item));
    const [completed, evidence] = this.completed(generated);
    const modelResponses = objs(state.model_responses).map((r) => this.modelResponse(r));
    const currentStep = this.currentStep(state.current_step, this.finalOutput());
    const interrupted = currentStep !== null && currentStep.type === 'next_step_interruption';
    const jsContext: Json = { usage: usageToJs(obj(context.usage)), approvals: {} };
    if (functionApprovals.length > 0) jsContext.functionApprovals = functionApprovals;
    jsContext.approvalInvocations = approvalInvocations;
    jsContext.context = { ...obj(pyContext) };
    if (context.tool_input !== undefined && context.tool_input !== null) {
      jsContext.toolInput = context.tool_input;
    }
    const tracker: Json = {};
    for (const [agent, tools] of Object.entries(obj(state.tool_use_tracker))) {
      tracker[agent] = [...new Set(arr(tools))];
    }
    const out: Json = {
      $schemaVersion: JS_SCHEMA,
      currentTurn: req(state, 'current_turn', 'root'),
      currentAgent: agentRef(state.current_agent, 'current_agent'),
      originalInput:
        typeof state.original_input === 'string'
          ? state.original_input
          : arr(state.original_input).map((raw) => rawToJs(raw, this.names)),
      modelResponses,
      context: jsContext,
      toolUseTracker: tracker,
      maxTurns: state.max_turns ?? null,
      noActiveAgentRun: false,
      inputGuardrailResults: guardrails(state.input_guardrail_results, 'input'),
      initialInputGuardrailsCompleted: true,
      outputGuardrailResults: guardrails(state.output_guardrail_results, 'output'),
      toolInputGuardrailResults: [],
      toolOutputGuardrailResults: [],
      currentTurnInProgress: interrupted,
    };
    const pendingInput = arr(state.pending_input);
    if (pendingInput.length > 0) out.pendingInput = pendingInput.map((raw) => rawToJs(raw, this.names));
    if (currentStep !== null) out.currentStep = currentStep;
    if (modelResponses.length > 0) out.lastModelResponse = modelResponses[modelResponses.length - 1];
    out.generatedItems = generated;
    const ownership = state.current_response_generated_item_ownership;
    if (isObj(ownership) && interrupted) {
      out.currentResponseGeneratedItemOwnership = {
        generatedItemStartIndex: ownership.start,
        generatedItemEndIndexExclusive: ownership.end,
        interruptionGeneratedItemIndexes: [...arr(ownership.interruptions)],
        toolOutputGuardrailResultStartIndex: 0,
      };
    }
    out.pendingAgentToolRuns = {};
    out.pendingAgentToolRunAliases = {};
    if (isObj(state.last_processed_response)) {
      out.lastProcessedResponse = this.processedResponse(state.last_processed_response);
    }
    out.currentTurnPersistedItemCount = state.current_turn_persisted_item_count ?? 0;
    out.completedToolInvocations = completed;
    out.completedToolInvocationEvidence = evidence;
    out.ambiguousToolInvocationCallIds = [];
    if (state.conversation_id) out.conversationId = state.conversation_id;
    if (state.previous_response_id) out.previousResponseId = state.previous_response_id;
    if (state.reasoning_item_id_policy) out.reasoningItemIdPolicy = state.reasoning_item_id_policy;
    out.trace = null;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// JS -> Python

class ToPy {
  constructor(readonly state: Json) {}

  item(item: Json): Json {
    const kind = item.type;
    const raw = rawToPy(item.rawItem);
    if (kind === 'handoff_output_item') {
      const source = agentRef(item.sourceAgent, 'handoff source');
      return {
        type: kind,
        raw_item: raw,
        agent: source,
        source_agent: source,
        target_agent: agentRef(item.targetAgent, 'handoff target'),
      };
    }
    const out: Json = { type: kind, raw_item: raw, agent: agentRef(item.agent, str(kind)) };
    if (kind === 'tool_call_output_item') {
      out.output = typeof item.output === 'string' ? item.output : raw.output;
      out.tool_origin = { type: 'function' };
    } else if (kind === 'tool_call_item') {
      out.tool_name = raw.name;
      out.tool_origin = { type: 'function' };
    } else if (kind === 'tool_approval_item') {
      const name =
        typeof item.functionToolStateKey === 'string'
          ? parseBareKey(item.functionToolStateKey)
          : str(raw.name);
      out.tool_name = item.toolName || name;
      out.tool_lookup_key = { kind: 'bare', name };
      out.tool_origin = { type: 'function' };
    } else if (!PLAIN_ITEMS.has(str(kind))) {
      throw toPyErr(`run item ${JSON.stringify(kind)}`);
    }
    if ((kind === 'tool_call_item' || kind === 'tool_approval_item') && raw.type !== 'function_call') {
      throw toPyErr(`${str(kind)} for ${JSON.stringify(raw.type)}`);
    }
    return out;
  }

  modelResponse(response: Json): Json {
    return {
      usage: usageToPy(obj(response.usage)),
      output: arr(response.output).map(rawToPy),
      response_id: response.responseId ?? null,
      request_id: response.requestId ?? null,
    };
  }

  ledger(generated: Json[]): Json {
    const ledger: Json = {};
    const outputs = new Set(
      generated
        .filter((i) => i.type === 'tool_call_output_item' || i.type === 'handoff_output_item')
        .map((i) => str(obj(i.raw_item).call_id)),
    );
    for (const item of generated) {
      const kind = item.type;
      if (kind !== 'tool_call_item' && kind !== 'handoff_call_item' && kind !== 'tool_approval_item') {
        continue;
      }
      const raw = obj(item.raw_item);
      const callId = str(raw.call_id);
      if (callId in ledger) continue;
      const scope = pythonScope(str(raw.name), kind === 'handoff_call_item' ? 'handoff' : null);
      const done = outputs.has(callId);
      ledger[callId] = {
        type: 'function_call',
        approval_scope: scope,
        fingerprint: pythonFingerprint(scope, str(raw.arguments)),
        executed: done,
        completed: done,
      };
    }
    return ledger;
  }

  approvals(context: Json): Json[] {
    if (!isEmptyValue(context.approvals)) {
      throw toPyErr('context.approvals', 'non-function-tool approvals');
    }
    if (!isEmptyValue(context.hostedMcpApprovals)) throw toPyErr('hosted MCP approvals');
    if (!isEmptyValue(context.legacyFunctionApprovals)) throw toPyErr('legacyFunctionApprovals');
    for (const record of objs(context.approvalInvocations)) {
      if (!isEmptyValue(record.approvals)) {
        throw toPyErr('approvalInvocations.approvals', 'non-function tools');
      }
    }
    const out: Json[] = [];
    for (const entry of objs(context.functionApprovals)) {
      const agent = { name: entry.agentIdentity };
      for (const [stateKey, recordValue] of Object.entries(obj(entry.approvals))) {
        const record = obj(recordValue);
        const name = parseBareKey(stateKey);
        const decision: Json = {
          approved: decisionList(record.approved),
          rejected: decisionList(record.rejected),
        };
        if (!isEmptyValue(record.messages)) decision.rejection_messages = { ...obj(record.messages) };
        if (record.stickyRejectMessage !== undefined && record.stickyRejectMessage !== null) {
          decision.sticky_rejection_message = record.stickyRejectMessage;
        }
        if (decision.approved === true || decision.rejected === true) {
          decision.sticky_scope = pythonScope(name, null);
        }
        out.push({ agent, tool_key: name, decision });
      }
    }
    return out;
  }

  processedResponse(data: Json, interruptions: Json[]): Json {
    for (const key of [
      'computerActions',
      'shellActions',
      'applyPatchActions',
      'mcpApprovalRequests',
      'functionToolsNotFound',
    ]) {
      if (!isEmptyValue(data[key])) throw toPyErr(`lastProcessedResponse.${key}`);
    }
    const functions = objs(data.functions).map((entry) => {
      if (entry.mcpToolBinding !== undefined && entry.mcpToolBinding !== null && entry.mcpToolBinding !== 'unknown') {
        throw toPyErr('MCP tool bindings');
      }
      const call = rawToPy(entry.toolCall);
      const name = obj(entry.tool).name || call.name;
      return { tool_call: call, tool: { name, lookupKey: { kind: 'bare', name } } };
    });
    const handoffs = objs(data.handoffs).map((entry) => {
      const call = rawToPy(entry.toolCall);
      return { tool_call: call, handoff: { tool_name: obj(entry.handoff).toolName || call.name } };
    });
    return {
      new_items: objs(data.newItems).map((item) => this.item(item)),
      tools_used: [...arr(data.toolsUsed)],
      functions,
      computer_actions: [],
      custom_tool_actions: [],
      local_shell_actions: [],
      shell_actions: [],
      apply_patch_actions: [],
      handoffs,
      mcp_approval_requests: [],
      interruptions,
      mcp_tool_bindings: {},
    };
  }

  run(): Json {
    const state = this.state;
    requireEmpty(
      state,
      [
        'toolInputGuardrailResults',
        'toolOutputGuardrailResults',
        'pendingAgentToolRuns',
        'pendingAgentToolRunAliases',
        'pendingSessionHistoryTransaction',
        'pendingSessionWrite',
        'pendingLegacyCompactionSessionItems',
        'currentTurnDeferredSessionItemIndexes',
        'ambiguousToolInvocationCallIds',
        'sandbox',
      ],
      false,
    );
    const context = obj(req(state, 'context', 'root'));
    const jsContext = context.context;
    if (jsContext !== null && jsContext !== undefined && !isObj(jsContext)) {
      throw toPyErr('context.context', 'only JSON object contexts');
    }
    const hasContext = isObj(jsContext) && Object.keys(jsContext).length > 0;
    const generated = objs(state.generatedItems).map((item) => this.item(item));
    const step = state.currentStep;
    let currentStep: Json | null = null;
    let interruptions: Json[] = [];
    if (isObj(step)) {
      const kind = step.type;
      if (kind === 'next_step_interruption') {
        interruptions = objs(obj(step.data).interruptions).map((item) => this.item(item));
        currentStep = {
          type: 'next_step_interruption',
          data: { interruptions, response_accepted: false, llm_end_hooks_started: true },
        };
      } else if (kind === 'next_step_run_again') {
        currentStep = { type: 'next_step_run_again' };
      } else if (kind !== 'next_step_final_output' && kind !== 'next_step_handoff') {
        throw toPyErr(`currentStep ${JSON.stringify(kind)}`);
      }
    }
    const modelResponses = objs(state.modelResponses).map((r) => this.modelResponse(r));
    const pyContext: Json = {
      usage: usageToPy(obj(context.usage)),
      approvals: {},
      tool_invocations: this.ledger(generated),
      context: hasContext ? { ...obj(jsContext) } : null,
      context_meta: {
        original_type: hasContext ? 'dict' : 'none',
        serialized_via: hasContext ? 'direct' : 'none',
        requires_deserializer: false,
        omitted: false,
      },
    };
    if (context.toolInput !== undefined && context.toolInput !== null) {
      pyContext.tool_input = context.toolInput;
    }
    const functionApprovals = this.approvals(context);
    if (functionApprovals.length > 0) pyContext.function_tool_approvals = functionApprovals;
    const toPyInput = (value: unknown) =>
      typeof value === 'string' ? value : arr(value).map(rawToPy);
    const out: Json = {
      $schemaVersion: PYTHON_SCHEMA,
      current_turn: req(state, 'currentTurn', 'root'),
      current_agent: agentRef(state.currentAgent, 'currentAgent'),
      original_input: toPyInput(state.originalInput),
      pending_input: toPyInput(state.pendingInput ?? []),
      model_responses: modelResponses,
      context: pyContext,
      tool_use_tracker: Object.fromEntries(
        Object.entries(obj(state.toolUseTracker)).map(([agent, tools]) => [agent, [...arr(tools)]]),
      ),
      max_turns: state.maxTurns ?? null,
      no_active_agent_run: true,
      input_guardrail_results: guardrails(state.inputGuardrailResults, 'input'),
      output_guardrail_results: guardrails(state.outputGuardrailResults, 'output'),
      tool_input_guardrail_results: [],
      tool_output_guardrail_results: [],
      conversation_id: state.conversationId ?? null,
      previous_response_id: state.previousResponseId ?? null,
      auto_previous_response_id: false,
      generated_prompt_cache_key: null,
      reasoning_item_id_policy: state.reasoningItemIdPolicy ?? null,
      nested_history_owned_session_item_refs: [],
    };
    const ownership = state.currentResponseGeneratedItemOwnership;
    if (isObj(ownership) && currentStep !== null && interruptions.length > 0) {
      out.current_response_generated_item_ownership = {
        start: ownership.generatedItemStartIndex,
        end: ownership.generatedItemEndIndexExclusive,
        interruptions: [...arr(ownership.interruptionGeneratedItemIndexes)],
      };
    }
    out.generated_items = generated;
    out.current_step = currentStep;
    out.last_model_response = modelResponses.length > 0 ? modelResponses[modelResponses.length - 1] : null;
    const finished = isObj(step) && step.type === 'next_step_final_output';
    out.last_processed_response =
      isObj(state.lastProcessedResponse) && !finished
        ? this.processedResponse(state.lastProcessedResponse, interruptions)
        : null;
    out.current_turn_persisted_item_count = state.currentTurnPersistedItemCount ?? 0;
    out.trace = null;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// entry points

const PY_MARKERS = ['current_turn', 'current_agent', 'model_responses', 'generated_items'];
const JS_MARKERS = ['currentTurn', 'currentAgent', 'modelResponses', 'generatedItems'];

export const SUPPORTED_PYTHON_SCHEMAS = [PYTHON_SCHEMA];
export const SUPPORTED_JS_SCHEMAS = [JS_SCHEMA];

/** Which SDK wrote a RunState JSON document. */
export function detectLanguage(state: unknown): Language {
  if (!isObj(state) || !('$schemaVersion' in state)) {
    throw new CorruptStateError("not a RunState document: no '$schemaVersion' field");
  }
  const python = PY_MARKERS.filter((key) => key in state).length;
  const typescript = JS_MARKERS.filter((key) => key in state).length;
  if (python > 0 && typescript === 0) return 'python';
  if (typescript > 0 && python === 0) return 'typescript';
  throw new CorruptStateError(
    `cannot tell which SDK wrote this RunState (it has ${python} Python-style and ` +
      `${typescript} TypeScript-style top-level fields)`,
  );
}

function guard(fn: () => Json, where: string): Json {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TranslationError) throw error;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CorruptStateError(`malformed ${where} RunState: ${message}`);
  }
}

/** Translate a Python RunState JSON into the JS SDK's format (a JS state is returned as is). */
export function toTypeScript(state: Json): Json {
  if (detectLanguage(state) === 'typescript') return { ...state };
  if (state.$schemaVersion !== PYTHON_SCHEMA) {
    throw new UnsupportedSchemaVersionError(state.$schemaVersion, 'python', SUPPORTED_PYTHON_SCHEMAS);
  }
  return guard(() => new ToJs(state).run(), PY);
}

/** Translate a JS RunState JSON into the Python SDK's format (a Python state is returned as is). */
export function toPython(state: Json): Json {
  if (detectLanguage(state) === 'python') return { ...state };
  if (state.$schemaVersion !== JS_SCHEMA) {
    throw new UnsupportedSchemaVersionError(state.$schemaVersion, 'typescript', SUPPORTED_JS_SCHEMAS);
  }
  return guard(() => new ToPy(state).run(), JS);
}

/** Translate conversation items (e.g. a session's history) from Python to JS format. A
 * `function_call_output` gets its tool name from the matching `function_call` in `items`. */
export function itemsToTypeScript(items: unknown[]): Json[] {
  const names = new Map<string, string>();
  return items.map((raw) => {
    if (isObj(raw) && raw.type === 'function_call') {
      if (typeof raw.call_id === 'string' && typeof raw.name === 'string' && !names.has(raw.call_id)) {
        names.set(raw.call_id, raw.name);
      }
    }
    return guard(() => rawToJs(raw, names), PY);
  });
}

/** Translate conversation items (e.g. a session's history) from JS to Python format. */
export function itemsToPython(items: unknown[]): Json[] {
  return items.map((raw) => guard(() => rawToPy(raw), JS));
}
