/**
 * TimestepSession: the JS SDK's Session over timestep's session tables (SQLite, and Postgres when
 * TIMESTEP_TEST_POSTGRES_URL names a server). Rows hold Python-format items; reads give JS items;
 * an agent continues its conversation across runs. (The Python side is checked by
 * tests/crosslang/test_crosslang_sessions.py through test/session-driver.ts.)
 */
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, tool } from '@openai/agents';
import type { AgentInputItem } from '@openai/agents';
import { z } from 'zod';
import {
  MultiModelProvider,
  ConfigurationError,
  TimestepSession,
  UnsupportedStateFeatureError,
  openSession,
  runAgent,
} from '../src/index.js';
import { openSql } from '../src/store/index.js';
import { FakeOllama } from './fake-servers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-session-'));

/** A conversation in the JS SDK's format, and the rows Python's SDK expects for it. */
export const JS_ITEMS: AgentInputItem[] = [
  { type: 'message', role: 'user', content: 'Order 42?' },
  { type: 'function_call', callId: 'call_1', name: 'lookup', arguments: '{"order_id":"42"}', status: 'completed' },
  {
    type: 'function_call_result',
    callId: 'call_1',
    name: 'lookup',
    status: 'completed',
    output: { type: 'text', text: 'order 42: paid' },
  },
  {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: 'It is paid.' }],
  },
];

export const PY_ITEMS = [
  { content: 'Order 42?', role: 'user' },
  { arguments: '{"order_id":"42"}', call_id: 'call_1', name: 'lookup', type: 'function_call', status: 'completed' },
  { call_id: 'call_1', output: 'order 42: paid', type: 'function_call_output' },
  {
    id: 'msg_1',
    content: [{ annotations: [], text: 'It is paid.', type: 'output_text', logprobs: [] }],
    role: 'assistant',
    status: 'completed',
    type: 'message',
  },
];

const targets: Array<[string, () => string]> = [['sqlite', () => `sqlite:///${join(tmp(), 'sessions.db')}`]];
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;
if (pgUrl) targets.push(['postgresql', () => pgUrl]);

describe('openSession', () => {
  it('needs a database URL', () => {
    assert.throws(() => openSession('x', 'history.json'), ConfigurationError);
  });
});

for (const [kind, makeUrl] of targets) {
  describe(`TimestepSession (${kind})`, () => {
    it('stores Python-format rows and reads JS items back; limit, pop and clear', async () => {
      const url = makeUrl();
      const id = `s-${kind}-${Date.now()}`;
      const session = openSession(id, url);
      const other = new TimestepSession(`${id}-other`, { db: url });
      const sql = openSql(url);
      try {
        assert.equal(await session.getSessionId(), id);
        assert.deepEqual(await session.getItems(), []);
        await session.addItems(JS_ITEMS.slice(0, 2));
        await session.addItems(JS_ITEMS.slice(2));
        await other.addItems([{ type: 'message', role: 'user', content: 'elsewhere' }]);

        const rows = await sql.query(
          'SELECT message_data FROM timestep_session_items WHERE session_id = $1 ORDER BY id',
          [id],
        );
        assert.deepEqual(
          rows.map((r) => JSON.parse(String(r.message_data))),
          PY_ITEMS,
        );
        const parents = await sql.query('SELECT session_id FROM timestep_sessions WHERE session_id = $1', [id]);
        assert.equal(parents.length, 1);

        assert.deepEqual(await session.getItems(), JS_ITEMS);
        assert.deepEqual(await session.getItems(2), JS_ITEMS.slice(2)); // the result keeps its name
        assert.deepEqual(await session.getItems(0), []);

        assert.deepEqual(await session.popItem(), JS_ITEMS[3]);
        assert.deepEqual(await session.popItem(), JS_ITEMS[2]);
        assert.deepEqual(await session.getItems(), JS_ITEMS.slice(0, 2));

        await session.clearSession();
        assert.deepEqual(await session.getItems(), []);
        assert.equal(await session.popItem(), undefined);
        assert.equal(
          (await sql.query('SELECT session_id FROM timestep_sessions WHERE session_id = $1', [id])).length,
          0,
        );
        assert.equal((await other.getItems()).length, 1);

        // An assistant message without an id comes back without one (Python's rows hold a
        // placeholder id, since Python's format needs one).
        const bare: AgentInputItem = {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'no id' }],
        };
        await session.addItems([bare]);
        assert.deepEqual(await session.getItems(), [bare]);
        assert.deepEqual(await session.popItem(), bare);

        // Items Python's format cannot hold are refused, before anything is written.
        await assert.rejects(
          session.addItems([
            { type: 'message', role: 'user', content: 'fine' },
            { type: 'message', role: 'user', content: [{ type: 'input_image', image: 'data:image/png;base64,AA' }] },
          ]),
          UnsupportedStateFeatureError,
        );
        assert.deepEqual(await session.getItems(), []);
      } finally {
        await other.clearSession();
        await session.close();
        await other.close();
        await sql.close();
      }
    });

    it('takes concurrent writes through one session object', async () => {
      const session = openSession(`conc-${kind}-${Date.now()}`, makeUrl());
      try {
        await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            session.addItems([{ type: 'message', role: 'user', content: `m${i}` }]),
          ),
        );
        const contents = (await session.getItems()).map((i) => (i as { content: string }).content);
        assert.deepEqual([...contents].sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        const popped = await Promise.all([session.popItem(), session.popItem()]);
        assert.equal(new Set(popped.map((i) => (i as { content: string }).content)).size, 2);
        assert.equal((await session.getItems()).length, 4);
      } finally {
        await session.clearSession();
        await session.close();
      }
    });

    describe('an agent with a session', () => {
      const server = new FakeOllama(['qwen-test']);
      before(async () => {
        await server.start();
      });
      after(async () => {
        await server.stop();
      });

      it('continues its conversation in a later run (and a streamed one)', async () => {
        const url = makeUrl();
        const session = openSession(`agent-${kind}-${Date.now()}`, url);
        const lookup = tool({
          name: 'lookup',
          description: 'Look up an order.',
          parameters: z.object({ order_id: z.string() }),
          execute: async ({ order_id }) => `order ${order_id}: paid`,
        });
        const agent = new Agent({ name: 'support', instructions: 'Help.', model: 'ollama/qwen-test', tools: [lookup] });
        const modelProvider = new MultiModelProvider({ ollamaHost: server.url });
        server.replies = [
          { toolCalls: [{ name: 'lookup', arguments: { order_id: '42' } }] },
          { content: 'Order 42 is paid.' },
          { content: 'You are welcome.' },
        ];
        try {
          const first = await runAgent(agent, 'Order 42?', { session, modelProvider });
          assert.equal(first.finalOutput, 'Order 42 is paid.');
          const second = await runAgent(agent, 'Thanks!', { session, modelProvider, stream: true });
          for await (const _event of second as unknown as AsyncIterable<unknown>) {
            // drain
          }
          assert.equal(second.finalOutput, 'You are welcome.');
          const messages = server.requests[2]!.body.messages as Record<string, unknown>[];
          assert.deepEqual(messages, [
            { role: 'system', content: 'Help.' },
            { role: 'user', content: 'Order 42?' },
            { role: 'assistant', content: '', tool_calls: [{ function: { name: 'lookup', arguments: { order_id: '42' } } }] },
            { role: 'tool', content: 'order 42: paid', tool_name: 'lookup' },
            { role: 'assistant', content: 'Order 42 is paid.' },
            { role: 'user', content: 'Thanks!' },
          ]);
          const items = await session.getItems();
          assert.deepEqual(
            items.map((i) => i.type ?? 'message'),
            ['message', 'function_call', 'function_call_result', 'message', 'message', 'message'],
          );
        } finally {
          await session.clearSession();
          await session.close();
        }
      });
    });
  });
}
