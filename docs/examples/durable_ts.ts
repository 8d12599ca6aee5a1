// Durable runs in TypeScript (docs: Durable execution in TypeScript): a run pauses for approval, a
// human approves it, and the run continues durably; then the recipe that hands a waiting run to
// TypeScript workers. Its Python twins are first_approval.py and workers.py.
import { Agent, tool, type Model } from '@openai/agents';
import { z } from 'zod';
import {
  RunStateStore,
  approve,
  idempotencyKey,
  resumeDurable,
  runAgent,
  setResumeLanguage,
  shutdownDurable,
  worker,
} from '@timestep-ai/timestep';

// --8<-- [start:run]
const refund = tool({
  name: 'refund',
  description: 'Refund `amount` dollars on an order. A human must approve each call.',
  parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
  needsApproval: true,
  // The key is the same on every attempt of this call, also after a crash: give it to the
  // payment API so a repeated call after a crash is not a second refund.
  execute: async ({ order_id, amount }, _ctx, details) =>
    `refunded $${amount} on order ${order_id} (key ${idempotencyKey(details).slice(0, 12)})`,
});

export function buildAgent(model: string | Model): Agent {
  return new Agent({ name: 'support', instructions: 'Refund damaged orders.', model, tools: [refund] });
}

export async function main(
  model: string | Model = 'local/qwen2.5-0.5b',
  db = 'sqlite:///timestep.db',
  runId = `ticket-${Date.now()}`,
): Promise<void> {
  const agent = buildAgent(model);
  const store = new RunStateStore(db);
  const paused = await runAgent(agent, 'Refund $25 on order 42', { runId, store });
  const names = paused.interruptions.map((item) => item.name ?? '').join(', ');
  console.log(`${runId}: waiting on ${names}`); // this process may exit now
  // ... days later, maybe in another process (or `timestep approve`, or the inbox):
  await approve(runId, { store, by: 'alice' });
  const done = await resumeDurable(runId, { agent, store });
  console.log(`answer: ${String(done?.finalOutput)}`);
  await shutdownDurable();
}
// --8<-- [end:run]

// --8<-- [start:recipe]
/** Hand a waiting run (paused in Python or TypeScript) to TypeScript workers, and run a worker. */
export async function serveInTypeScript(
  runId: string,
  agent: Agent,
  store: RunStateStore,
  signal: AbortSignal,
): Promise<void> {
  await setResumeLanguage(runId, 'typescript', { store });
  // The worker resumes the run once every pending call is decided (an agent of the same name).
  await worker([agent], { store, signal });
}
// --8<-- [end:recipe]

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2]);
