/** OllamaModel: the JS SDK's `Model` on Ollama's native `POST /api/chat` (JSON and NDJSON). */
import {
  ModelNotFoundError,
  ModelProviderError,
  ModelServerUnavailableError,
} from '../../errors.js';
import {
  type AgentOutputItem,
  type GenerationSpanData,
  type Model,
  type ModelRequest,
  type ModelResponse,
  type ModelRetryAdvice,
  type ModelRetryAdviceRequest,
  type Span,
  Usage,
  createGenerationSpan,
  getCurrentTrace,
  type protocol,
  resetCurrentSpan,
  setCurrentSpan,
} from '@openai/agents';
import { callsOf, outputItems, usageOf } from './output.js';
import { buildChatBody } from './request.js';
import { DEFAULT_OLLAMA_HOST, FAKE_ID, type Json, type OllamaChatResponse } from './wire.js';

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

export function anySignal(signals: AbortSignal[]): AbortSignal {
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
