// TypeScript half of a hand-off: load a run that Python paused, approve, and continue it durably
// in Node (runAgent with a runId is durable, as run_agent with run_id is in Python).
//   node handoff_resume.js RUN_ID [--model NAME] [--db URL]    (RUN_ID: what handoff_start.py printed)
import { Agent, tool, type Model } from '@openai/agents';
import { z } from 'zod';
import { RunStateStore, runAgent, shutdownDurable } from '@timestep-ai/timestep';

// Same agent name and tool name as the Python side (handoff_start.py).
const refund = tool({
  name: 'refund',
  description: 'Refund `amount` dollars on an order.',
  parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
  needsApproval: true,
  execute: async ({ order_id, amount }) => `refunded $${amount} on order ${order_id} (from Node)`,
});

export function buildAgent(model: string | Model): Agent {
  return new Agent({ name: 'support', instructions: 'Refund damaged orders.', model, tools: [refund] });
}

export async function main(runId: string, model: string | Model, db = 'sqlite:///timestep.db'): Promise<void> {
  const store = new RunStateStore(db);
  const agent = buildAgent(model);
  const state = await store.load(runId, agent); // a Python state is translated on load
  for (const item of state.getInterruptions()) {
    console.log(`approving ${item.name} ${item.arguments}`);
    state.approve(item);
  }
  const result = await runAgent(agent, state, null, false, { runId, store }); // saves v2
  console.log(`answer: ${String(result.finalOutput)}`);
  await shutdownDurable(); // DBOS keeps a process that ran durable runs alive until shut down
  await store.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [runId, ...rest] = process.argv.slice(2);
  const option = (name: string): string | undefined =>
    rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined;
  if (!runId) throw new Error('usage: node handoff_resume.js RUN_ID [--model NAME] [--db URL]');
  // an OpenAI-compatible model name (e.g. gpt-4.1 with OPENAI_API_KEY set)
  await main(runId, option('--model') ?? 'gpt-4.1', option('--db'));
}
