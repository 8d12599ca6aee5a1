/**
 * MCP servers in durable segments, the twin of Python's `DurableMCPServer`: each agent's MCP
 * servers are wrapped (the user's server objects are untouched) so that
 *
 * - every tool listing inside a segment is a checkpointed step, `timestep.mcp.list:<server>`
 *   (once per turn; its output is the listed tools as JSON), so a replay builds the agent's tools
 *   from the recorded listing even if the server renamed or dropped a tool since;
 * - a tool call's request carries `_meta["timestep/idempotency-key"]` (merged over what the
 *   server's own `toolMetaResolver` returns), identical across attempts of the same call;
 * - the function tools the SDK builds from the listing each turn are checkpointed steps,
 *   `timestep.mcp:<public tool name>`, with outputs in the same JSON shape as function tools.
 *
 * The wrapper delegates every other setting (filters, guardrails, structured content, error
 * function, resources) to the user's server; it reports `cacheToolsList: false` to the SDK so the
 * SDK asks it each turn (the user's server still answers from its own cache when configured to).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DBOS } from '@dbos-inc/dbos-sdk';
import type { Agent, FunctionTool, MCPServer } from '@openai/agents';
import { active, currentCall, currentSegment, idempotencyKey } from './context.js';
import * as names from './names.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTool = FunctionTool<any, any, any>;
type Meta = Record<string, unknown>;
type MetaResolver = NonNullable<MCPServer['toolMetaResolver']>;

const WRAPPED = Symbol('timestep.durableMcpServer');

/** The server a durable wrapper delegates to (the argument itself when it is not one). */
export function innerServer(server: MCPServer): MCPServer {
  return (server as unknown as Record<symbol, MCPServer | undefined>)[WRAPPED] ?? server;
}

/** The durable wrapper of `inner` (see the module docstring); a wrapper is returned as is. */
export function durableMcpServer(inner: MCPServer): MCPServer {
  if ((inner as unknown as Record<symbol, unknown>)[WRAPPED]) return inner;
  const resolveMeta: MetaResolver = async (context) => {
    const own = inner.toolMetaResolver ? ((await inner.toolMetaResolver(context)) ?? null) : null;
    const callId = currentCall.getStore();
    if (callId === undefined || currentSegment.getStore() === undefined) return own;
    return { ...(own ?? {}), [names.MCP_IDEMPOTENCY_META_KEY]: idempotencyKey(callId) } satisfies Meta;
  };
  const listTools: MCPServer['listTools'] = async () => {
    if (!active()) return inner.listTools();
    const data = await DBOS.runStep(
      async () => JSON.parse(JSON.stringify(await inner.listTools())) as unknown[],
      { name: names.mcpListStep(inner.name) },
    );
    return data as Awaited<ReturnType<MCPServer['listTools']>>;
  };
  return new Proxy(inner, {
    get(target, property) {
      if (property === WRAPPED) return target;
      if (property === 'listTools') return listTools;
      if (property === 'toolMetaResolver') return resolveMeta;
      if (property === 'cacheToolsList') return false;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// The SDK keys the MCP identity of a function tool (server and raw tool name, kept in RunState
// for approvals) by the tool's `invoke`. A wrapped tool gets a new `invoke`, so the identity is
// copied over through the SDK's own registry when it can be found (else the tool has none, as a
// plain function tool; only MCP tools that need approval would notice).
interface ToolIdentity {
  bindMcpTool(tool: AnyTool, binding: unknown): AnyTool;
  getMcpToolBinding(tool: AnyTool): unknown;
}

let identity: Promise<ToolIdentity | undefined> | undefined;

function toolIdentity(): Promise<ToolIdentity | undefined> {
  identity ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const agents = require.resolve('@openai/agents');
      const core = createRequire(agents).resolve('@openai/agents-core');
      const module = (await import(pathToFileURL(join(dirname(core), 'toolIdentity.mjs')).href)) as Partial<ToolIdentity>;
      return typeof module.bindMcpTool === 'function' && typeof module.getMcpToolBinding === 'function'
        ? (module as ToolIdentity)
        : undefined;
    } catch {
      return undefined;
    }
  })();
  return identity;
}

/**
 * Make the function tools the SDK builds from `agent`'s MCP servers each turn checkpointed steps
 * (`timestep.mcp:<name>`), with `wrap` (the function-tool step wrapper).
 */
export function wrapMcpTools(agent: AnyAgent, wrap: (tool: AnyTool, stepName: string) => AnyTool): void {
  const original = agent.getMcpTools.bind(agent);
  agent.getMcpTools = async (...args: Parameters<AnyAgent['getMcpTools']>) => {
    const tools = await original(...args);
    const ids = await toolIdentity();
    return tools.map((t) => {
      if (t.type !== 'function') return t;
      const wrapped = wrap(t as AnyTool, names.mcpStep(t.name));
      const binding = ids?.getMcpToolBinding(t as AnyTool);
      return ids && binding ? ids.bindMcpTool(wrapped, binding) : wrapped;
    });
  };
}
