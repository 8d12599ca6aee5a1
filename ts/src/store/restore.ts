/**
 * Turn a stored state (JS format) back into the SDK's `RunState`, with errors that name their
 * cause: the twin of Python's `state/_restore.py`. The document is checked against the agent graph
 * first, so a state whose current agent or pending tool the graph lacks is a `StateMismatchError`
 * naming which, not the SDK's bare `UserError`.
 */
import { Agent, Handoff, RunState, UserError } from '@openai/agents';
import { CorruptStateError, SchemaVersionError, StateMismatchError } from '../errors.js';
import type { Json } from '../translate/index.js';
import { stateFacts } from './describe.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRunState = RunState<any, AnyAgent>;

/** Every agent reachable from `agent` through handoffs, each once. */
export function walkAgents(agent: AnyAgent): AnyAgent[] {
  const seen = new Set<AnyAgent>();
  const stack = [agent];
  while (stack.length > 0) {
    const current = stack.pop() as AnyAgent;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const target of current.handoffs) {
      if (target instanceof Agent) stack.push(target);
      else if (target instanceof Handoff) stack.push(target.agent as AnyAgent);
    }
  }
  return [...seen];
}

function toolNames(agent: AnyAgent): Set<string> {
  const names = new Set(agent.tools.map((tool) => tool.name));
  for (const target of agent.handoffs) if (target instanceof Handoff) names.add(target.toolName);
  return names;
}

/** `StateMismatchError` if the state names agents or pending tools the graph lacks. */
export function checkAgainstGraph(doc: Json, agent: AnyAgent): void {
  const facts = stateFacts(doc);
  const agents = new Map(walkAgents(agent).map((a) => [a.name, a]));
  const current = agents.get(facts.agentName);
  if (current === undefined) {
    throw new StateMismatchError(
      `state's current agent '${facts.agentName}' is not in the agent graph starting at ` +
        `'${agent.name}' (agents: ${[...agents.keys()].sort().join(', ')})`,
    );
  }
  for (const pending of facts.pendingApprovals) {
    const owner = agents.get(pending.agentName) ?? current;
    // an MCP server's tools are listed by the server at run time, not on the agent
    if (owner.mcpServers.length > 0) continue;
    const tools = toolNames(owner);
    if (!tools.has(pending.toolName)) {
      throw new StateMismatchError(
        `pending call '${pending.callId}' is for tool '${pending.toolName}', which agent ` +
          `'${owner.name}' does not have (tools: ${[...tools].sort().join(', ') || 'none'})`,
      );
    }
  }
}

/** Validate `doc` (a JS-format state) against `agent` and build the SDK's RunState. */
export async function restoreState(doc: Json, agent: AnyAgent): Promise<AnyRunState> {
  checkAgainstGraph(doc, agent);
  try {
    return (await RunState.fromString(agent, JSON.stringify(doc))) as AnyRunState;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UserError && /schema version/i.test(message)) {
      throw new SchemaVersionError(
        `state schema version '${String(doc.$schemaVersion)}' is not readable by the installed ` +
          `@openai/agents (${message}); a newer SDK or a translation is needed`,
        { cause: error },
      );
    }
    if (error instanceof UserError) {
      throw new StateMismatchError(`the SDK refused the state: ${message}`, { cause: error });
    }
    const name = error instanceof Error ? error.constructor.name : typeof error;
    throw new CorruptStateError(`the SDK cannot rebuild the state: ${name}: ${firstLines(message)}`, {
      cause: error,
    });
  }
}

function firstLines(text: string): string {
  const compact = text.replace(/\s+/g, ' ').trim();
  return compact.length > 400 ? `${compact.slice(0, 400)}...` : compact;
}
