/**
 * Model calls, function-tool calls, MCP tool calls and handoffs of a segment as DBOS steps, without
 * touching user code: the segment's agent graph is cloned, each model wrapped in a `DurableModel`
 * (also the Runner's model provider), each function tool's `invoke` and each handoff's
 * `onInvokeHandoff` replaced by a wrapper that runs the original inside a DBOS step, each MCP
 * server wrapped as in ./mcp.ts. Step outputs are JSON in the same shapes as Python's
 * (`{"text": ...}` / `{"json": ...}` for tools).
 *
 * DBOS numbers steps in the order they start; the SDK starts the tool calls of one model response
 * in response order, so parallel tools replay onto the same step ids.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Agent, Handoff, Usage } from '@openai/agents';
import type {
  FunctionTool,
  Model,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  StreamEvent,
} from '@openai/agents';
import { active, currentCall } from './context.js';
import { durableMcpServer, wrapMcpTools } from './mcp.js';
import * as names from './names.js';
import { publicStepId } from './history.js';
import { abandoned, modelEvent } from './streamLog.js';

export { currentSegment, idempotencyKey, type SegmentContext } from './context.js';

// ---- JSON forms of step outputs -----------------------------------------------------------------

type Json = Record<string, unknown>;

function dumpUsage(usage: Usage): Json {
  return {
    requests: usage.requests,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    input_tokens_details: usage.inputTokensDetails,
    output_tokens_details: usage.outputTokensDetails,
  };
}

/** JSON form of a ModelResponse (the model step's checkpoint, in Python's field names). */
export function dumpModelResponse(response: ModelResponse): Json {
  return {
    output: JSON.parse(JSON.stringify(response.output)) as unknown,
    usage: dumpUsage(response.usage),
    response_id: response.responseId ?? null,
    request_id: null,
  };
}

/** Rebuild a ModelResponse from `dumpModelResponse`. */
export function loadModelResponse(data: Json): ModelResponse {
  const response: ModelResponse = {
    output: data.output as ModelResponse['output'],
    usage: new Usage(data.usage as ConstructorParameters<typeof Usage>[0]),
  };
  if (typeof data.response_id === 'string') response.responseId = data.response_id;
  return response;
}

const dumpToolOutput = (output: unknown): Json =>
  typeof output === 'string' ? { text: output } : { json: output === undefined ? null : output };

const loadToolOutput = (data: Json): unknown => ('text' in data ? data.text : data.json);

// ---- models -------------------------------------------------------------------------------------

/** A Model whose calls are DBOS steps when running inside a segment. */
export class DurableModel implements Model {
  constructor(readonly model: Model) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    if (!active()) return this.model.getResponse(request);
    const data = await DBOS.runStep(
      async () => dumpModelResponse(await this.model.getResponse(request)),
      { name: names.MODEL_STEP },
    );
    return loadModelResponse(data);
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const seg = active();
    if (!seg) {
      yield* this.model.getStreamedResponse(request);
      return;
    }
    const log = seg.log;
    const live: (StreamEvent | null)[] = [];
    let wake: (() => void) | undefined;
    const push = (event: StreamEvent | null): void => {
      live.push(event);
      wake?.();
    };
    let delivered = false;
    const step = DBOS.runStep(
      async () => {
        let final: Json | undefined;
        const stepId = publicStepId(DBOS.stepID ?? 0, 'typescript'); // numbered as Python's
        const attempt = log ? await log.beginAttempt(stepId) : 0;
        let index = 0;
        try {
          for await (const event of this.model.getStreamedResponse(request)) {
            const logged = log ? modelEvent(stepId, attempt, index, event) : undefined;
            if (logged) await log!.emit(logged); // logged before anyone sees it
            index += 1;
            push(event);
            if (event.type === 'response_done') final = event.response as unknown as Json;
          }
          if (!final) throw new Error('the model stream ended without response_done');
        } catch (error) {
          const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          if (log) await log.emit(abandoned(stepId, attempt, 'failed', text));
          throw error;
        } finally {
          push(null);
        }
        return JSON.parse(JSON.stringify(final)) as Json;
      },
      { name: names.MODEL_STREAM_STEP },
    );
    let finished = false;
    const done = step.then(
      () => undefined,
      () => undefined,
    );
    void done.then(() => {
      finished = true;
      wake?.();
    });
    for (;;) {
      const next = live.shift();
      if (next === null) break;
      if (next !== undefined) {
        delivered = true;
        yield next;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolveWake) => {
        wake = resolveWake;
      });
      wake = undefined;
    }
    const response = await step;
    if (!delivered) {
      // replayed from the checkpoint: the model is not called again
      yield { type: 'response_done', response } as unknown as StreamEvent;
    }
  }

  getRetryAdvice(args: Parameters<NonNullable<Model['getRetryAdvice']>>[0]) {
    return this.model.getRetryAdvice?.(args);
  }
}

/** Wraps every model the inner provider returns in a `DurableModel`. */
export class DurableModelProvider implements ModelProvider {
  constructor(readonly inner: ModelProvider) {}

  async getModel(modelName?: string): Promise<Model> {
    const model = await this.inner.getModel(modelName);
    return model instanceof DurableModel ? model : new DurableModel(model);
  }
}

// ---- tools and handoffs -------------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTool = FunctionTool<any, any, any>;

/**
 * `tool` with its `invoke` run as a DBOS step (named `stepName`, by default `timestep.tool:<name>`)
 * inside a segment, under the call's id (`currentCall`, read by the MCP `_meta` resolver).
 */
export function wrapTool(tool: AnyTool, stepName: string = names.toolStep(tool.name)): AnyTool {
  const original = tool.invoke;
  const invoke: AnyTool['invoke'] = async (runContext, input, details) => {
    const seg = active();
    if (!seg) return original(runContext, input, details);
    const callId = details?.toolCall?.callId;
    const edited = callId === undefined ? undefined : seg.editedArguments?.get(callId);
    if (edited !== undefined) {
      // a human edited them when approving: the tool gets these (and sees them in its details)
      input = edited;
      if (details?.toolCall) details = { ...details, toolCall: { ...details.toolCall, arguments: edited } };
    }
    const call = async (): Promise<unknown> => original(runContext, input, details);
    const data = await DBOS.runStep(
      async () => dumpToolOutput(await (callId ? currentCall.run(callId, call) : call())),
      { name: stepName },
    );
    if (seg.log && callId) {
      await seg.log.emit({ key: `t${callId}`, type: 'tool_output', call_id: callId, tool: tool.name, output: data });
    }
    return loadToolOutput(data);
  };
  return { ...tool, invoke };
}

/** Durable clones of an agent graph, memoised by identity (cycles allowed) and by name. */
export class AgentGraph {
  readonly #byAgent = new Map<AnyAgent, AnyAgent>();
  readonly #clones = new Set<AnyAgent>();
  readonly byName = new Map<string, AnyAgent>();

  /** The durable clone of `agent` (created once). */
  wrap(agent: AnyAgent): AnyAgent {
    const known = this.#byAgent.get(agent);
    if (known) return known;
    if (this.#clones.has(agent)) return agent;
    const tools = agent.tools.map((t) => (t.type === 'function' ? wrapTool(t as AnyTool) : t));
    const changes: Record<string, unknown> = { tools, handoffs: [] };
    if (typeof agent.model === 'object' && !(agent.model instanceof DurableModel)) {
      changes.model = new DurableModel(agent.model);
    }
    if (agent.mcpServers.length > 0) changes.mcpServers = agent.mcpServers.map(durableMcpServer);
    const clone = agent.clone(changes) as AnyAgent;
    if (clone.mcpServers.length > 0) wrapMcpTools(clone, wrapTool);
    this.#byAgent.set(agent, clone);
    this.#clones.add(clone);
    if (!this.byName.has(agent.name)) this.byName.set(agent.name, clone);
    clone.handoffs = agent.handoffs.map((h) =>
      h instanceof Agent ? this.wrapHandoff(new Handoff(h, () => h)) : this.wrapHandoff(h),
    ) as typeof clone.handoffs;
    return clone;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private wrapHandoff(handoff: Handoff<any, any>): Handoff<any, any> {
    const original = handoff.onInvokeHandoff.bind(handoff);
    const stepName = names.handoffStep(handoff.toolName);
    const copy = Object.assign(Object.create(Object.getPrototypeOf(handoff) as object), handoff) as Handoff;
    copy.agent = this.wrap(handoff.agent);
    copy.onInvokeHandoff = async (ctx, args) => {
      if (!active()) return this.wrap(await original(ctx, args));
      const produced = new Map<string, AnyAgent>();
      const name = await DBOS.runStep(
        async () => {
          const target = await original(ctx, args);
          produced.set(target.name, target);
          return target.name;
        },
        { name: stepName },
      );
      const target = produced.get(name);
      if (target) return this.wrap(target);
      return this.byName.get(name) ?? this.wrap(await original(ctx, args));
    };
    return copy;
  }
}

/** Clone `agent` and everything reachable from it for a durable segment. */
export function wrapAgent(agent: AnyAgent): AnyAgent {
  return new AgentGraph().wrap(agent);
}
