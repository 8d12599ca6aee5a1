// The seed's usage in TypeScript: pause for approval, save to a file, load it, approve, resume.
// Its Python twin is seed.py, line for line. The seed's `Session` is a real session class here:
// TimestepSession (@openai/agents has no constructible `Session`).
import { Agent, tool, type Model } from '@openai/agents';
import { z } from 'zod';
import { RunStateStore, TimestepSession, consumeResult, runAgent } from '@timestep-ai/timestep';

const refund = tool({
  name: 'refund',
  description: 'Refund `amount` dollars on an order. A human must approve each call.',
  parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
  needsApproval: true,
  execute: async ({ order_id, amount }) => `refunded $${amount} on order ${order_id}`,
});

export function buildAgent(model: string | Model): Agent {
  return new Agent({ name: 'support', instructions: 'Refund damaged orders.', model, tools: [refund] });
}

export async function main(
  model: string | Model = 'gpt-4.1',
  path = 'state.json',
  db = 'sqlite:///timestep.db',
): Promise<void> {
  const agent = buildAgent(model);
  const session = new TimestepSession('ticket-42', { db });
  const stateStore = new RunStateStore(path, agent);

  let result = await runAgent(agent, 'Refund $5 on order 42', session, true);
  result = await consumeResult(result);
  await stateStore.save(result.state);
  console.log(`paused: ${result.interruptions.map((item) => item.name ?? '').join(', ')}`);

  const savedState = await stateStore.load();
  for (const interruption of savedState.getInterruptions()) {
    savedState.approve(interruption);
  }
  result = await runAgent(agent, savedState, session, false);
  result = await consumeResult(result);
  await stateStore.save(result.state);
  console.log(`answer: ${String(result.finalOutput)}`);
  await session.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
