/**
 * `runAgent(agent, input, { runId })` is durable by default, as Python's `run_agent(...,
 * run_id=...)`: its calls are checkpointed DBOS steps, `approve(..., { resume: true })` /
 * `resume` continue it durably, and sessions work in durable runs (history read once in a step,
 * new items written once in a step). `durable: false` opts out. One embedded PGlite and one
 * store for the whole file (creating a PGlite directory takes 15-30 s). The crash tests with a
 * session (SIGKILL, Python reading the session) are in tests/durable/test_durable_ts.py.
 */
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Agent, Runner, setTracingDisabled, Usage } from '@openai/agents';
import type { Model, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import {
  approve,
  ConfigurationError,
  consumeResult,
  openSession,
  resume,
  RunStateStore,
  runAgent,
  shutdownDurable,
} from '../src/index.js';
import { lookupCall, refundCall, refundExecutions, scripted, supportAgent, text } from './fixtures.js';

setTracingDisabled(true);
const root = mkdtempSync(join(tmpdir(), 'timestep-durable-runs-'));
process.env.TIMESTEP_TS_DBOS_URL = join(root, 'system.dbos.pglite');
const DB = `sqlite:///${join(root, 'runs.db')}`;
const store = new RunStateStore(DB);

after(async () => {
  await shutdownDurable();
  await store.close();
});

async function stepNames(workflowId: string): Promise<string[]> {
  return ((await DBOS.listWorkflowSteps(workflowId)) ?? []).map((step) => step.name);
}

/** A model that answers `reply` and records the text of every message it was sent. */
class Recording implements Model {
  readonly seen: string[][] = [];
  constructor(private readonly reply: string) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = Array.isArray(request.input) ? request.input : [{ role: 'user', content: request.input }];
    this.seen.push(
      items.flatMap((item) => {
        const content = (item as { content?: unknown }).content;
        if (typeof content === 'string') return [content];
        if (Array.isArray(content)) return content.map((c) => String((c as { text?: unknown }).text));
        return [];
      }),
    );
    return {
      output: [text(this.reply)],
      usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }),
    };
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const response = await this.getResponse(request);
    yield { type: 'output_text_delta', delta: this.reply } as StreamEvent;
    yield {
      type: 'response_done',
      response: { id: 'resp', usage: { requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }, output: response.output },
    } as unknown as StreamEvent;
  }
}

/** The message texts of session items, in order. */
function texts(items: unknown[]): string[] {
  return items.flatMap((item) => {
    const content = (item as { content?: unknown }).content;
    if (typeof content === 'string') return [content];
    if (Array.isArray(content)) return content.map((c) => String((c as { text?: unknown }).text));
    return [];
  });
}

describe('runAgent with a runId', () => {
  it('runs durably by default: every call a checkpointed step of segment <runId>@0', async () => {
    const agent = supportAgent(scripted([lookupCall('call_1')], [text('It is paid.')]));
    const result = await runAgent(agent, 'Order 42?', { runId: 'by-default', store });
    assert.equal(result.finalOutput, 'It is paid.');
    assert.deepEqual(await stepNames('by-default@0'), [
      'timestep.model.get_response',
      'timestep.tool:lookup',
      'timestep.model.get_response',
      'timestep.state.save',
    ]);
    const row = await store.run('by-default');
    assert.deepEqual([row.status, row.latestVersion], ['done', 1]);
    assert.deepEqual(row.metadata, { durable_agent: 'support', durable_language: 'typescript' });
  });

  it('durable: false saves the run without checkpointing it; durable: true needs a runId', async () => {
    const agent = supportAgent(scripted([text('Hi.')]));
    await runAgent(agent, 'Hello', { runId: 'opted-out', store, durable: false });
    const row = await store.run('opted-out');
    assert.deepEqual([row.status, row.latestVersion, row.metadata], ['done', 1, {}]);
    assert.deepEqual(await DBOS.listWorkflows({ workflow_id_prefix: 'opted-out@' }), []);
    await assert.rejects(runAgent(agent, 'Hello', { durable: true }), ConfigurationError);
  });

  it("takes a Runner: its model provider is made durable", async () => {
    const model = scripted([text('From the runner.')]);
    const runner = new Runner({ modelProvider: { getModel: () => model } });
    const agent = new Agent({ name: 'runner-agent', instructions: 'Help.', model: 'scripted' });
    const result = await runAgent(agent, 'Hi', { runId: 'with-runner', store, runner });
    assert.equal(result.finalOutput, 'From the runner.');
    assert.deepEqual(await stepNames('with-runner@0'), ['timestep.model.get_response', 'timestep.state.save']);
  });
});

describe('sessions in durable runs', () => {
  it("a second run starts from the first run's history; each item is written once", async () => {
    const first = new Agent({ name: 'chat-1', instructions: 'Chat.', model: scripted([text('hello Ada')]) });
    await runAgent(first, 'I am Ada', openSession('conv', DB), false, { runId: 's-run-1', store });
    const model = new Recording('you are Ada');
    const second = new Agent({ name: 'chat-2', instructions: 'Chat.', model });
    const session = openSession('conv', DB);
    const result = await consumeResult(await runAgent(second, 'who am I?', session, true, { runId: 's-run-2', store }));
    assert.equal(result.finalOutput, 'you are Ada');
    assert.deepEqual(model.seen, [['I am Ada', 'hello Ada', 'who am I?']]);
    assert.deepEqual(texts(await session.getItems()), ['I am Ada', 'hello Ada', 'who am I?', 'you are Ada']);
    assert.deepEqual(await stepNames('s-run-2@0'), [
      'timestep.session.read',
      'timestep.model.stream_response',
      'timestep.session.write',
      'timestep.state.save',
    ]);
    const row = await store.run('s-run-2');
    assert.deepEqual(row.metadata.durable_session, { id: 'conv', db: DB, history: 2 });
    await session.close();
  });

  it('a run paused for approval and resumed durably writes its session once, at its end', async () => {
    const session = openSession('refunds', DB);
    await session.addItems([{ type: 'message', role: 'user', content: 'earlier' }]);
    const agent = supportAgent(scripted([refundCall('call_1', '7', 3)], [text('Refunded.')]));
    const paused = await runAgent(agent, 'Refund order 7', session, false, { runId: 'paused', store });
    assert.equal(paused.interruptions.length, 1);
    assert.deepEqual(texts(await session.getItems()), ['earlier'], 'nothing written while waiting');
    const before = refundExecutions.length;
    const decision = await approve('paused', { store, agent, by: 'alice', resume: true });
    assert.equal(decision.resumed, true);
    assert.deepEqual(refundExecutions.slice(before), ['7/3']);
    // the resumed segment is the DBOS workflow paused@1: decisions read, tool and model as steps
    assert.deepEqual(await stepNames('paused@1'), [
      'timestep.approvals.read',
      'timestep.tool:refund',
      'timestep.model.get_response',
      'timestep.session.write',
      'timestep.state.save',
    ]);
    const items = await session.getItems();
    assert.deepEqual(texts(items), ['earlier', 'Refund order 7', 'Refunded.']);
    assert.deepEqual(
      items.map((i) => (i as { type?: string }).type ?? 'message'),
      ['message', 'message', 'function_call', 'function_call_result', 'message'],
    );
    const done = await store.run('paused');
    assert.deepEqual([done.status, done.latestVersion], ['done', 2]);
    await session.close();
  });

  it('resume() continues a waiting run durably, and only once', async () => {
    const agent = supportAgent(scripted([refundCall('call_1', '8', 1)], [text('Done.')]));
    await runAgent(agent, 'Refund order 8', { runId: 'resumed', store });
    await approve('resumed', { store });
    const result = await resume('resumed', { store, agent });
    assert.equal(result?.finalOutput, 'Done.');
    assert.deepEqual((await stepNames('resumed@1'))[0], 'timestep.approvals.read');
    await assert.rejects(resume('resumed', { store, agent }), /not waiting/);
  });
});
