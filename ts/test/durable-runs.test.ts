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
import { Agent, Runner, setTracingDisabled, tool, Usage } from '@openai/agents';
import { z } from 'zod';
import type { Model, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import {
  approve,
  ConfigurationError,
  consumeResult,
  openSession,
  resume,
  RunNotWaitingError,
  RunStateStore,
  runAgent,
  shutdownDurable,
} from '../src/index.js';
import { lookupCall, refundCall, refundExecutions, scripted, SUPPORT, supportAgent, text } from './fixtures.js';

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
    assert.deepEqual(await stepNames('with-runner@0'), ['timestep.model.get_response']);
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

describe('a resume that cannot load its state', () => {
  // the agent deployed after the run paused renamed its tool: the stored state names `refund`
  const renamed = () =>
    new Agent({
      name: SUPPORT,
      instructions: 'Help.',
      model: scripted([text('never asked')]),
      tools: [
        tool({
          name: 'refund_v2',
          description: 'Refund an order.',
          parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
          needsApproval: true,
          execute: async () => 'refunded',
        }),
      ],
    });

  it('fails the run with resumable_from, and resume() retries it once the agent is fixed', async () => {
    const paused = await runAgent(supportAgent(scripted([refundCall('call_1', '9', 2)])), 'Refund order 9', {
      runId: 'load-renamed',
      store,
    });
    assert.equal(paused.interruptions.length, 1);
    await approve('load-renamed', { store });
    const version = (await store.run('load-renamed')).latestVersion;

    await assert.rejects(resume('load-renamed', { store, agent: renamed() }));
    let row = await store.run('load-renamed');
    assert.equal(row.status, 'failed'); // not left `running` with no error
    assert.match(String(row.metadata.error), new RegExp(`^cannot load version ${version}: .*refund`));
    assert.equal(row.metadata.resumable_from, version);
    // still failing with the same broken agent: recorded again, still resumable
    await assert.rejects(resume('load-renamed', { store, agent: renamed() }));
    row = await store.run('load-renamed');
    assert.deepEqual([row.status, row.metadata.resumable_from], ['failed', version]);

    // the agent is fixed: the same segment runs, with the recorded approval
    const before = refundExecutions.length;
    const result = await resume('load-renamed', { store, agent: supportAgent(scripted([text('Refunded 9.')])) });
    assert.equal(result?.finalOutput, 'Refunded 9.');
    assert.deepEqual(refundExecutions.slice(before), ['9/2']);
    row = await store.run('load-renamed');
    assert.deepEqual([row.status, row.latestVersion], ['done', version + 1]);
    assert.equal(row.metadata.error ?? null, null);
    assert.equal(row.metadata.resumable_from ?? null, null);
    // the failed attempts' records are gone: segment load-renamed@<version> is the successful run
    assert.deepEqual(await stepNames(`load-renamed@${version}`), [
      'timestep.approvals.read',
      'timestep.tool:refund',
      'timestep.model.get_response',
    ]);
    await assert.rejects(resume('load-renamed', { store, agent: supportAgent(scripted()) }), RunNotWaitingError);
  });

  it('without an agent, a failed run is handed to a TypeScript worker, which retries it', async () => {
    await runAgent(supportAgent(scripted([refundCall('call_1', '10', 1)])), 'Refund order 10', {
      runId: 'load-handed',
      store,
    });
    await approve('load-handed', { store });
    const version = (await store.run('load-handed')).latestVersion;
    await assert.rejects(resume('load-handed', { store, agent: renamed() }));
    assert.equal((await store.run('load-handed')).status, 'failed');

    // on the embedded PGlite (held by a live worker) the run waits for the worker's poll
    assert.equal(await resume('load-handed', { store }), undefined);
    let row = await store.run('load-handed');
    assert.equal(row.status, 'waiting');
    assert.deepEqual([row.metadata.durable_language, row.metadata.resumable_from], ['typescript', version]);
    assert.equal(row.metadata.error, null);
    // what the worker's poll does: resume with its agent (the failed segment is forgotten first)
    const result = await resume('load-handed', { store, agent: supportAgent(scripted([text('Refunded 10.')])) });
    assert.equal(result?.finalOutput, 'Refunded 10.');
    row = await store.run('load-handed');
    assert.deepEqual([row.status, row.metadata.resumable_from], ['done', null]);
  });
});
