/** Version-independent converters: usage and raw conversation items in both directions. */
import { CorruptStateError } from '../errors.js';
import {
  type Json,
  agentRef,
  arr,
  isObj,
  obj,
  objs,
  req,
  str,
  toJsErr,
  toPyErr,
} from './common.js';

export function numericDetails(entry: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value === 'number' && value !== 0) out[key] = value;
  }
  return out;
}

export function usageDetailsToJs(details: unknown): Json[] {
  return objs(details)
    .map(numericDetails)
    .filter((entry) => Object.keys(entry).length > 0);
}

export function mergeDetails(details: unknown): Json {
  const merged: Json = {};
  for (const entry of usageDetailsToJs(Array.isArray(details) ? details : [details])) {
    Object.assign(merged, entry);
  }
  return merged;
}

export function usageToJs(usage: Json): Json {
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

export function sumDetails(details: unknown, fields: string[]): Json {
  const totals: Json = Object.fromEntries(fields.map((f) => [f, 0]));
  const items = Array.isArray(details) ? details : details ? [details] : [];
  for (const entry of items.filter(isObj)) {
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') totals[key] = ((totals[key] as number) ?? 0) + value;
    }
  }
  return totals;
}

export const PY_INPUT_DETAILS = ['cache_write_tokens', 'cached_tokens'];
export const PY_OUTPUT_DETAILS = ['reasoning_tokens'];

export function inputDetailsToPy(details: unknown): Json {
  const totals = sumDetails(details, PY_INPUT_DETAILS);
  if (!('cache_write_tokens_details' in totals)) totals.cache_write_tokens_details = null;
  return totals;
}

export function usageToPy(usage: Json): Json {
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

export function rawToJs(raw: unknown, names: Map<string, string>): Json {
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

export function messageToJs(raw: Json): Json {
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

export function rawToPy(raw: unknown): Json {
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

export function messageToPy(raw: Json): Json {
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
export function guardrails(results: unknown, kind: 'input' | 'output'): Json[] {
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

export function decisionList(value: unknown): unknown {
  return typeof value === 'boolean' ? value : [...arr(value)];
}

export const PLAIN_ITEMS = new Set([
  'tool_call_item',
  'message_output_item',
  'handoff_call_item',
  'reasoning_item',
]);
