/**
 * The Node half of the cross-language session tests (driven by tests/crosslang/test_crosslang_sessions.py):
 *
 *   node dist-test/test/session-driver.js write <db> <sessionId> <jsItemsJson>
 *   node dist-test/test/session-driver.js read  <db> <sessionId>
 *   node dist-test/test/session-driver.js pop   <db> <sessionId>
 *   node dist-test/test/session-driver.js chat  <db> <sessionId> <input> <repliesJson>
 *
 * `chat` runs a JS SDK agent ('support', tool `lookup`, model `ollama/qwen-test`) on a fake Ollama
 * server answering with `repliesJson` (FakeReply objects), with the session as its history.
 * Each command prints one JSON line (`read`: the items; `pop`: the item; `chat`: the final output
 * and the `messages` of every request the model received).
 */
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';

import { Agent, tool } from '@openai/agents';
import type { AgentInputItem } from '@openai/agents';
import { z } from 'zod';
import { MultiModelProvider, openSession, runAgent } from '../src/index.js';
import { FakeOllama, type FakeReply } from './fake-servers.js';

async function main(): Promise<void> {
  const [action, db, sessionId, arg1, arg2] = process.argv.slice(2);
  if (!action || !db || !sessionId) throw new Error('usage: session-driver <action> <db> <sessionId> ...');
  const session = openSession(sessionId, db);
  try {
    if (action === 'write') {
      await session.addItems(JSON.parse(arg1 ?? '[]') as AgentInputItem[]);
      console.log(JSON.stringify({ ok: true }));
    } else if (action === 'read') {
      console.log(JSON.stringify(await session.getItems()));
    } else if (action === 'pop') {
      console.log(JSON.stringify((await session.popItem()) ?? null));
    } else if (action === 'chat') {
      const server = await new FakeOllama(['qwen-test']).start();
      try {
        server.replies = JSON.parse(arg2 ?? '[]') as FakeReply[];
        const lookup = tool({
          name: 'lookup',
          description: 'Look up an order.',
          parameters: z.object({ order_id: z.string() }),
          execute: async ({ order_id }) => `order ${order_id}: paid`,
        });
        const agent = new Agent({
          name: 'support',
          instructions: 'Help.',
          model: 'ollama/qwen-test',
          tools: [lookup],
        });
        const result = await runAgent(agent, arg1 ?? '', {
          session,
          modelProvider: new MultiModelProvider({ ollamaHost: server.url }),
        });
        console.log(
          JSON.stringify({
            finalOutput: result.finalOutput ?? null,
            messages: server.requests.map((r) => r.body.messages),
          }),
        );
      } finally {
        await server.stop();
      }
    } else {
      throw new Error(`unknown action ${action}`);
    }
  } finally {
    await session.close();
  }
}

await main();
