/** The `/api/chat` request body: messages, tools, settings and `think`. */
import { UnsupportedModelInputError } from '../../errors.js';
import type {
  AgentInputItem,
  ModelRequest,
  ModelSettings,
  SerializedHandoff,
  SerializedTool,
} from '@openai/agents';
import type { Json, OllamaMessage } from './wire.js';

/** `providerData` keys that belong at the top level of /api/chat; every other key is an option. */
export const TOP_LEVEL_KEYS = new Set(['keep_alive', 'think', 'format', 'logprobs', 'top_logprobs']);

export const THINK_LEVELS: Record<string, boolean | string> = {
  none: false,
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
  max: 'high',
};

/** Ollama's `think` for `settings.reasoning` (undefined: leave the model's default). */
export function thinkValue(model: string, settings: ModelSettings): boolean | string | undefined {
  const reasoning = settings.reasoning;
  if (!reasoning) return undefined;
  const effort = reasoning.effort;
  if (effort === undefined || effort === null) return true;
  const level = THINK_LEVELS[effort] ?? true;
  const takesLevels = (model.split('/').pop() ?? model).startsWith('gpt-oss');
  if (typeof level === 'string' && !takesLevels) return true;
  return level;
}

/** The sampling settings Ollama understands, under its `options` names. */
export function settingsToOptions(settings: ModelSettings): Json {
  const pairs: Json = {
    temperature: settings.temperature,
    top_p: settings.topP,
    frequency_penalty: settings.frequencyPenalty,
    presence_penalty: settings.presencePenalty,
    num_predict: settings.maxTokens,
  };
  return Object.fromEntries(Object.entries(pairs).filter(([, v]) => v !== undefined && v !== null));
}

export function toolToOllama(tool: SerializedTool): Json {
  if (tool.type !== 'function') {
    throw new UnsupportedModelInputError(
      `Ollama models can only call function tools; '${tool.name}' is a ${tool.type} tool ` +
        'of the OpenAI Responses API',
    );
  }
  const fn = tool as Extract<SerializedTool, { type: 'function' }>;
  return {
    type: 'function',
    function: { name: fn.name, description: fn.description ?? '', parameters: fn.parameters },
  };
}

export function handoffToOllama(handoff: SerializedHandoff): Json {
  return {
    type: 'function',
    function: {
      name: handoff.toolName,
      description: handoff.toolDescription ?? '',
      parameters: handoff.inputJsonSchema,
    },
  };
}

/** The JSON body of one `/api/chat` call (`providerData` merged last). */
export function buildChatBody(model: string, request: ModelRequest, stream: boolean): Json {
  const settings = request.modelSettings ?? {};
  const body: Json = {
    model,
    messages: toMessages(request.systemInstructions, request.input),
    stream,
  };
  if (settings.toolChoice !== 'none') {
    const tools = [
      ...(request.tools ?? []).map(toolToOllama),
      ...(request.handoffs ?? []).map(handoffToOllama),
    ];
    if (tools.length > 0) body.tools = tools;
  }
  const outputType = request.outputType;
  if (outputType && outputType !== 'text' && typeof outputType === 'object') {
    body.format = outputType.schema;
  }
  const think = thinkValue(model, settings);
  if (think !== undefined) body.think = think;
  const options = settingsToOptions(settings);
  for (const [key, value] of Object.entries(settings.providerData ?? {})) {
    if (TOP_LEVEL_KEYS.has(key)) body[key] = value;
    else options[key] = value;
  }
  if (Object.keys(options).length > 0) body.options = options;
  return body;
}

export function isObj(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function argumentsObject(raw: unknown): Json {
  if (isObj(raw)) return raw;
  if (raw === undefined || raw === null || raw === '') return {};
  try {
    const parsed: unknown = JSON.parse(String(raw));
    return isObj(parsed) ? parsed : { arguments: parsed };
  } catch {
    return { arguments: raw };
  }
}

export function imageBase64(part: Json): string {
  const image = part.image ?? part.image_url ?? part.imageUrl;
  if (typeof image === 'string') {
    if (image.startsWith('data:') && image.includes(';base64,')) return image.split(';base64,', 2)[1]!;
    if (!/^[a-z]+:\/\//i.test(image)) return image; // raw base64
  }
  const where = typeof image === 'string' ? `image ${JSON.stringify(image.slice(0, 60))}` : 'a file id';
  throw new UnsupportedModelInputError(
    `Ollama needs images inline: pass base64 data ('data:image/png;base64,...') instead of ${where}`,
  );
}

export function contentOf(content: unknown, role: string): [string, string[]] {
  if (typeof content === 'string') return [content, []];
  if (isObj(content)) content = [content];
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of Array.isArray(content) ? content : []) {
    if (!isObj(part)) continue;
    const kind = part.type;
    if (kind === 'input_text' || kind === 'output_text' || kind === 'text') texts.push(String(part.text ?? ''));
    else if (kind === 'refusal') texts.push(String(part.refusal ?? ''));
    else if (kind === 'input_image' || kind === 'image') images.push(imageBase64(part));
    else {
      throw new UnsupportedModelInputError(
        `Ollama models cannot take ${JSON.stringify(kind)} content in a ${role} message (only text and images)`,
      );
    }
  }
  return [texts.join('\n'), images];
}

/** Convert the SDK's input items to Ollama chat messages, merging each turn's text and calls. */
export function toMessages(
  systemInstructions: string | undefined,
  input: string | AgentInputItem[],
): OllamaMessage[] {
  const messages: OllamaMessage[] = [];
  if (systemInstructions) messages.push({ role: 'system', content: systemInstructions });
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return messages;
  }
  const toolNames = new Map<string, string>();
  let pendingThinking: string[] = [];
  const assistant = (fresh: boolean): OllamaMessage => {
    let last = messages[messages.length - 1];
    if (fresh || last === undefined || last.role !== 'assistant') {
      last = { role: 'assistant', content: '' };
      messages.push(last);
    }
    if (pendingThinking.length > 0) {
      last.thinking = pendingThinking.join('\n');
      pendingThinking = [];
    }
    return last;
  };
  for (const raw of input) {
    const item = raw as unknown as Json;
    const kind = item.type;
    if ((kind === undefined || kind === 'message') && 'role' in item) {
      const role = String(item.role);
      if (role === 'system' || role === 'developer') {
        messages.push({ role: 'system', content: contentOf(item.content, role)[0] });
      } else if (role === 'user') {
        const [text, images] = contentOf(item.content, role);
        const message: OllamaMessage = { role: 'user', content: text };
        if (images.length > 0) message.images = images;
        messages.push(message);
      } else if (role === 'assistant') {
        assistant(true).content = contentOf(item.content, role)[0];
      } else {
        throw new UnsupportedModelInputError(`unknown message role ${JSON.stringify(role)}`);
      }
    } else if (kind === 'function_call') {
      const name = String(item.name);
      toolNames.set(String(item.callId ?? item.call_id), name);
      const message = assistant(false);
      (message.tool_calls ??= []).push({ function: { name, arguments: argumentsObject(item.arguments) } });
    } else if (kind === 'function_call_result' || kind === 'function_call_output') {
      const callId = String(item.callId ?? item.call_id);
      const [text, images] = contentOf(item.output, 'tool');
      const message: OllamaMessage = { role: 'tool', content: text };
      const name = toolNames.get(callId) ?? (typeof item.name === 'string' ? item.name : undefined);
      if (name) message.tool_name = name;
      if (images.length > 0) message.images = images;
      messages.push(message);
    } else if (kind === 'reasoning') {
      const parts = [
        ...(Array.isArray(item.rawContent) ? item.rawContent : []),
        ...(Array.isArray(item.content) ? item.content : []),
      ] as Json[];
      for (const part of parts) if (part.text) pendingThinking.push(String(part.text));
    } else {
      throw new UnsupportedModelInputError(
        `Ollama models cannot take input items of type ${JSON.stringify(kind)} ` +
          '(only messages, function calls, function call results and reasoning)',
      );
    }
  }
  return messages;
}
