/**
 * OllamaModel / OllamaModelProvider: the JS SDK's `Model` interface on Ollama's native
 * `POST /api/chat` (JSON, and NDJSON when streaming), local or on Ollama Cloud. The TypeScript
 * twin of timestep's Python `OllamaModel` / `OllamaModelProvider`: same naming rule, same request
 * body, same output items.
 */
import { randomUUID } from 'node:crypto';
import {
  Usage,
  createGenerationSpan,
  getCurrentTrace,
  resetCurrentSpan,
  setCurrentSpan,
} from '@openai/agents';
import type {
  GenerationSpanData,
  Span,
  AgentInputItem,
  AgentOutputItem,
  Model,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelRetryAdvice,
  ModelRetryAdviceRequest,
  ModelSettings,
  SerializedHandoff,
  SerializedTool,
  protocol,
} from '@openai/agents';
import {
  ConfigurationError,
  ModelNotFoundError,
  ModelProviderError,
  ModelServerUnavailableError,
  UnsupportedModelInputError,
} from './errors.js';

export const DEFAULT_OLLAMA_HOST = 'http://localhost:11434';
export const OLLAMA_CLOUD_HOST = 'https://ollama.com';
/** The SDK's placeholder id for providers without item ids. */
const FAKE_ID = '__fake_id__';

type Json = Record<string, unknown>;

/** One message of Ollama's chat API. */
export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  thinking?: string;
  images?: string[];
  tool_calls?: { function: { name: string; arguments: Json } }[];
  tool_name?: string;
}

/** One reply (or one NDJSON chunk) of `/api/chat`. */
export interface OllamaChatResponse {
  model?: string;
  message?: Partial<OllamaMessage>;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// naming rule

function splitTag(name: string): [string, string | undefined] {
  const slash = name.lastIndexOf('/');
  const head = name.slice(0, slash + 1);
  const last = name.slice(slash + 1);
  const colon = last.indexOf(':');
  if (colon < 0) return [head + last, undefined];
  return [head + last.slice(0, colon), last.slice(colon + 1)];
}

/** True for Ollama's cloud model tags: `gpt-oss:120b-cloud`, `glm-4.6:cloud`. */
export function isCloudModel(name: string): boolean {
  const [, tag] = splitTag(name);
  return tag !== undefined && (tag === 'cloud' || tag.endsWith('-cloud'));
}

/** The name Ollama Cloud's own API uses: `gpt-oss:120b-cloud` -> `gpt-oss:120b`. */
export function cloudApiName(name: string): string {
  const [base, tag] = splitTag(name);
  if (tag === 'cloud') return base;
  if (tag !== undefined && tag.endsWith('-cloud')) return `${base}:${tag.slice(0, -'-cloud'.length)}`;
  return name;
}

// ---------------------------------------------------------------------------------------------
// request body

/** `providerData` keys that belong at the top level of /api/chat; every other key is an option. */
const TOP_LEVEL_KEYS = new Set(['keep_alive', 'think', 'format', 'logprobs', 'top_logprobs']);

const THINK_LEVELS: Record<string, boolean | string> = {
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

function toolToOllama(tool: SerializedTool): Json {
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

function handoffToOllama(handoff: SerializedHandoff): Json {
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

function isObj(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function argumentsObject(raw: unknown): Json {
  if (isObj(raw)) return raw;
  if (raw === undefined || raw === null || raw === '') return {};
  try {
    const parsed: unknown = JSON.parse(String(raw));
    return isObj(parsed) ? parsed : { arguments: parsed };
  } catch {
    return { arguments: raw };
  }
}

function imageBase64(part: Json): string {
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

function contentOf(content: unknown, role: string): [string, string[]] {
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

// ---------------------------------------------------------------------------------------------
// output

/** A fresh tool call id (Ollama does not assign one). */
function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

function usageOf(reply: OllamaChatResponse): Usage {
  const inputTokens = reply.prompt_eval_count ?? 0;
  const outputTokens = reply.eval_count ?? 0;
  return new Usage({ requests: 1, inputTokens, outputTokens, totalTokens: inputTokens + outputTokens });
}

function outputItems(
  thinking: string,
  text: string,
  calls: { name: string; arguments: Json }[],
  doneReason: string | undefined,
): AgentOutputItem[] {
  const items: AgentOutputItem[] = [];
  if (thinking) {
    items.push({ type: 'reasoning', content: [], rawContent: [{ type: 'reasoning_text', text: thinking }] });
  }
  if (text) {
    items.push({
      id: FAKE_ID,
      type: 'message',
      role: 'assistant',
      status: doneReason === 'length' ? 'incomplete' : 'completed',
      content: [{ type: 'output_text', text }],
    });
  }
  for (const call of calls) {
    items.push({
      id: FAKE_ID,
      type: 'function_call',
      callId: newCallId(),
      name: call.name,
      arguments: JSON.stringify(call.arguments ?? {}),
      status: 'completed',
    });
  }
  return items;
}

function callsOf(message: Partial<OllamaMessage> | undefined): { name: string; arguments: Json }[] {
  return (message?.tool_calls ?? []).map((call) => ({
    name: String(call.function?.name ?? ''),
    arguments: argumentsObject(call.function?.arguments),
  }));
}

// ---------------------------------------------------------------------------------------------
// the model

export interface OllamaModelOptions {
  /** The server; default `$OLLAMA_HOST`, else `http://localhost:11434`. */
  host?: string;
  /** Sent as `Authorization: Bearer ...` (Ollama Cloud); never read from the environment here. */
  apiKey?: string;
  /** Milliseconds per request (default: none). `ModelSettings.timeoutMs` overrides it. */
  timeoutMs?: number;
  /** Extra HTTP headers on every request. */
  headers?: Record<string, string>;
  /** @internal set by OllamaModelProvider for cloud models (error hints). */
  cloud?: boolean;
}

/**
 * An Ollama model on the native `/api/chat` endpoint.
 *
 * `ModelSettings` map to Ollama as in Python: `temperature`, `topP`, `frequencyPenalty`,
 * `presencePenalty` -> `options.temperature/top_p/frequency_penalty/presence_penalty`;
 * `maxTokens` -> `options.num_predict`; `reasoning` -> `think` (effort `none` turns it off;
 * gpt-oss models get `low`/`medium`/`high`, other models `true`); `toolChoice: 'none'` sends no
 * tools; `providerData` -> `options` (e.g. `seed`, `stop`, `num_ctx`, `top_k`), except
 * `keep_alive`, `think`, `format`, `logprobs` and `top_logprobs`, which are top-level fields.
 * A structured output type is sent as `format` (its JSON schema).
 */
export class OllamaModel implements Model {
  readonly model: string;
  readonly host: string;
  readonly cloud: boolean;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #headers: Record<string, string>;

  constructor(model: string, options: OllamaModelOptions = {}) {
    this.model = model;
    this.host = (options.host ?? process.env.OLLAMA_HOST ?? DEFAULT_OLLAMA_HOST).replace(/\/+$/, '');
    if (!/^[a-z]+:\/\//i.test(this.host)) this.host = `http://${this.host}`;
    this.cloud = options.cloud ?? false;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs;
    this.#headers = options.headers ?? {};
  }

  toString(): string {
    return `OllamaModel(${this.model}, host=${this.host})`;
  }

  /** Retry server errors (5xx, 408, 429) and an unreachable server; never a missing model. */
  getRetryAdvice(args: ModelRetryAdviceRequest): ModelRetryAdvice | undefined {
    const error = args.error;
    if (error instanceof ModelNotFoundError) return { suggested: false, reason: error.message };
    if (error instanceof ModelServerUnavailableError) {
      return { suggested: true, replaySafety: 'safe', reason: error.message };
    }
    if (error instanceof ModelProviderError && error.status !== undefined) {
      const retry = error.status >= 500 || error.status === 408 || error.status === 429;
      return { suggested: retry, reason: error.message };
    }
    return undefined;
  }

  async #post(body: Json, request: ModelRequest): Promise<Response> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: body.stream ? 'application/x-ndjson' : 'application/json',
      ...this.#headers,
    };
    if (this.#apiKey) headers.Authorization = `Bearer ${this.#apiKey}`;
    const timeoutMs = request.modelSettings?.timeoutMs ?? this.#timeoutMs;
    const signals: AbortSignal[] = [];
    if (request.signal) signals.push(request.signal);
    if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : anySignal(signals);
    let response: Response;
    try {
      response = await fetch(`${this.host}/api/chat`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw this.#transportError(error, request);
    }
    if (!response.ok) throw await this.#httpError(response);
    return response;
  }

  #transportError(error: unknown, request: ModelRequest): Error {
    if (request.signal?.aborted) return error as Error;
    const name = (error as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ModelProviderError(`Ollama at ${this.host} timed out for model '${this.model}'`, {
        cause: error,
      });
    }
    const cause = (error as { cause?: { code?: string } })?.cause;
    const code = cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'EAI_AGAIN') {
      return new ModelServerUnavailableError(
        `no Ollama server at ${this.host} (model '${this.model}'): start one with \`ollama serve\` ` +
          'or set OLLAMA_HOST to where it runs',
        { cause: error },
      );
    }
    return new ModelProviderError(
      `connection to Ollama at ${this.host} failed for model '${this.model}': ${String(error)}` +
        (code ? ` (${code})` : ''),
      { cause: error },
    );
  }

  async #httpError(response: Response): Promise<ModelProviderError> {
    const status = response.status;
    const text = await response.text().catch(() => '');
    let cause = text.trim() || response.statusText;
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') cause = parsed.error;
    } catch {
      // not JSON: keep the text
    }
    if (status === 404 && cause.toLowerCase().includes('not found')) {
      const hint = this.cloud
        ? 'check the model name on https://ollama.com/search'
        : `run \`ollama pull ${this.model}\``;
      return new ModelNotFoundError(`model '${this.model}' not found on ${this.host}: ${hint}`, { status });
    }
    if (status === 401 || status === 403) {
      return new ModelProviderError(
        `${this.host} refused model '${this.model}' (HTTP ${status}: ${cause}): ` +
          'check the API key in OLLAMA_API_KEY',
        { status },
      );
    }
    return new ModelProviderError(
      `Ollama at ${this.host} failed for model '${this.model}': ${cause} (HTTP ${status})`,
      { status },
    );
  }

  /** A started generation span, when the run traces and a trace is open. */
  #startSpan(request: ModelRequest, body: Json): Span<GenerationSpanData> | undefined {
    if (!request.tracing) return undefined;
    const parent = (request as { _internal?: { tracingParent?: Span<GenerationSpanData> } })._internal
      ?.tracingParent;
    if (!parent && !getCurrentTrace()) return undefined;
    const span = createGenerationSpan(undefined, parent);
    const settings = request.modelSettings ?? {};
    span.spanData.model = this.model;
    span.spanData.model_config = {
      temperature: settings.temperature,
      top_p: settings.topP,
      frequency_penalty: settings.frequencyPenalty,
      presence_penalty: settings.presencePenalty,
      reasoning_effort: settings.reasoning?.effort,
      base_url: this.host,
    };
    if (request.tracing === true) span.spanData.input = body.messages as Json[];
    span.start();
    setCurrentSpan(span);
    return span;
  }

  static #endSpan(
    span: Span<GenerationSpanData> | undefined,
    request: ModelRequest,
    outcome: { output?: AgentOutputItem[]; usage?: Usage; error?: unknown },
  ): void {
    if (!span) return;
    if (outcome.usage) {
      span.spanData.usage = { input_tokens: outcome.usage.inputTokens, output_tokens: outcome.usage.outputTokens };
    }
    if (outcome.output && request.tracing === true) span.spanData.output = outcome.output as Json[];
    if (outcome.error !== undefined) {
      const error = outcome.error;
      span.setError({ message: error instanceof Error ? error.message : String(error), data: {} });
    }
    span.end();
    resetCurrentSpan();
  }

  /** One non-streamed `/api/chat` call. */
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const body = buildChatBody(this.model, request, false);
    const span = this.#startSpan(request, body);
    try {
      const result = await this.#getResponse(body, request);
      OllamaModel.#endSpan(span, request, result);
      return result;
    } catch (error) {
      OllamaModel.#endSpan(span, request, { error });
      throw error;
    }
  }

  async #getResponse(body: Json, request: ModelRequest): Promise<ModelResponse> {
    const response = await this.#post(body, request);
    let reply: OllamaChatResponse;
    try {
      reply = (await response.json()) as OllamaChatResponse;
    } catch (error) {
      throw new ModelProviderError(
        `Ollama at ${this.host} sent a reply that is not JSON for model '${this.model}'`,
        { cause: error },
      );
    }
    if (typeof reply.error === 'string') {
      throw new ModelProviderError(`Ollama at ${this.host} failed for model '${this.model}': ${reply.error}`);
    }
    const message = reply.message ?? {};
    return {
      output: outputItems(message.thinking ?? '', message.content ?? '', callsOf(message), reply.done_reason),
      usage: usageOf(reply),
    };
  }

  /** A streamed `/api/chat` call: `response_started`, raw chunks, text deltas, `response_done`. */
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    const body = buildChatBody(this.model, request, true);
    const span = this.#startSpan(request, body);
    let outcome: { output?: AgentOutputItem[]; usage?: Usage; error?: unknown } = {};
    try {
      for await (const event of this.#stream(body, request)) {
        if (event.type === 'response_done') {
          outcome = { output: event.response.output as AgentOutputItem[], usage: new Usage(event.response.usage) };
        }
        yield event;
      }
    } catch (error) {
      outcome = { error };
      throw error;
    } finally {
      OllamaModel.#endSpan(span, request, outcome);
    }
  }

  async *#stream(body: Json, request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    const response = await this.#post(body, request);
    if (!response.body) {
      throw new ModelProviderError(`Ollama at ${this.host} sent no body for model '${this.model}'`);
    }
    let thinking = '';
    let text = '';
    const calls: { name: string; arguments: Json }[] = [];
    let final: OllamaChatResponse | undefined;
    let started = false;
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    const parseLine = (line: string): OllamaChatResponse => {
      try {
        return JSON.parse(line) as OllamaChatResponse;
      } catch (error) {
        throw new ModelProviderError(
          `Ollama at ${this.host} sent a stream line that is not JSON for model '${this.model}': ` +
            JSON.stringify(line.slice(0, 80)),
          { cause: error },
        );
      }
    };
    try {
      for (;;) {
        let chunk: { done: boolean; value?: Uint8Array | undefined };
        try {
          chunk = await reader.read();
        } catch (error) {
          throw this.#transportError(error, request);
        }
        if (chunk.value) buffer += decoder.decode(chunk.value, { stream: !chunk.done });
        const lines = buffer.split('\n');
        buffer = chunk.done ? '' : (lines.pop() ?? '');
        for (const line of lines) {
          if (!line.trim()) continue;
          const part = parseLine(line);
          if (typeof part.error === 'string') {
            throw new ModelProviderError(
              `Ollama at ${this.host} failed mid-stream for model '${this.model}': ${part.error}`,
            );
          }
          if (!started) {
            started = true;
            yield { type: 'response_started' };
          }
          yield { type: 'model', event: part };
          const message = part.message ?? {};
          if (message.thinking) thinking += message.thinking;
          if (message.content) {
            text += message.content;
            yield { type: 'output_text_delta', delta: message.content };
          }
          calls.push(...callsOf(message));
          if (part.done) final = part;
        }
        if (chunk.done) break;
      }
    } finally {
      // Stopped early (an error, or the consumer left): close the connection too.
      if (final === undefined) await reader.cancel().catch(() => undefined);
      else reader.releaseLock();
    }
    if (final === undefined) {
      throw new ModelProviderError(
        `Ollama at ${this.host} ended the stream for model '${this.model}' before its final chunk`,
      );
    }
    const usage = usageOf(final);
    yield {
      type: 'response_done',
      response: {
        id: FAKE_ID,
        usage: {
          requests: 1,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalTokens: usage.totalTokens,
        },
        output: outputItems(thinking, text, calls, final.done_reason),
      },
    } as protocol.StreamEvent;
  }
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

// ---------------------------------------------------------------------------------------------
// the provider

export interface OllamaModelProviderOptions {
  /** The Ollama Cloud key (else `$OLLAMA_API_KEY`); sent to the cloud host only. */
  apiKey?: string;
  /** The local server (else `$OLLAMA_HOST`, else `http://localhost:11434`). */
  host?: string;
  /** Older name of `host`. */
  baseURL?: string;
  /** Ollama Cloud's address (default `https://ollama.com`). */
  cloudHost?: string;
  /** Milliseconds per request (default: none). */
  timeoutMs?: number;
  /** Every model goes to Ollama Cloud (the `ollama-cloud/` prefix); a key is required. */
  cloud?: boolean;
}

/**
 * Ollama models, each sent to the local server or to Ollama Cloud by its name (the host is
 * chosen for every model, never fixed by the first one used):
 *
 * - a plain name (`qwen2.5`, `llama3.2:3b`) goes to the local server, without any key;
 * - a cloud tag (`gpt-oss:120b-cloud`, `glm-4.6:cloud`) goes to Ollama Cloud as `gpt-oss:120b`
 *   with `Authorization: Bearer <apiKey or $OLLAMA_API_KEY>`; without a key it goes to the
 *   local server under its full name (a local Ollama signed in with `ollama signin` forwards it);
 * - with `cloud: true` every name goes to Ollama Cloud as given, and a key is required.
 */
export class OllamaModelProvider implements ModelProvider {
  readonly cloud: boolean;
  readonly #host: string | undefined;
  readonly #cloudHost: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number | undefined;

  constructor(options: OllamaModelProviderOptions = {}) {
    if (options.baseURL && options.host && options.baseURL !== options.host) {
      throw new ConfigurationError('give the Ollama server as `host` or `baseURL`, not both');
    }
    this.#host = options.host ?? options.baseURL;
    this.#cloudHost = options.cloudHost;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs;
    this.cloud = options.cloud ?? false;
  }

  /** The local server: the `host` option, else `$OLLAMA_HOST`, else the default. */
  get host(): string {
    return this.#host || process.env.OLLAMA_HOST || DEFAULT_OLLAMA_HOST;
  }

  /** Ollama Cloud's address. */
  get cloudHost(): string {
    return this.#cloudHost || OLLAMA_CLOUD_HOST;
  }

  /** The Ollama Cloud key: the `apiKey` option, else `$OLLAMA_API_KEY`. */
  get apiKey(): string | undefined {
    return this.#apiKey || process.env.OLLAMA_API_KEY || undefined;
  }

  /** The model for `modelName` on the host the naming rule picks. */
  getModel(modelName?: string): OllamaModel {
    if (!modelName) {
      throw new ConfigurationError(
        "an Ollama model needs a name, e.g. 'ollama/qwen2.5' or 'ollama/gpt-oss:120b-cloud'",
      );
    }
    const key = this.apiKey;
    if (this.cloud && !key) {
      throw new ConfigurationError(
        `Ollama Cloud model '${modelName}' needs an API key: set OLLAMA_API_KEY ` +
          '(create one at https://ollama.com/settings/keys)',
      );
    }
    if (this.cloud || (key && isCloudModel(modelName))) {
      return this.#model(cloudApiName(modelName), this.cloudHost, key, true);
    }
    return this.#model(modelName, this.host, undefined, false);
  }

  #model(name: string, host: string, key: string | undefined, cloud: boolean): OllamaModel {
    const strip = (h: string) => h.replace(/\/+$/, '');
    const options: OllamaModelOptions = { host, cloud };
    // A key goes to the cloud host only (or to a "local" host that is the cloud itself).
    if (key && strip(host) === strip(this.cloudHost)) options.apiKey = key;
    if (this.#timeoutMs !== undefined) options.timeoutMs = this.#timeoutMs;
    return new OllamaModel(name, options);
  }
}
