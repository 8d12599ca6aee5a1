/**
 * Run control of durable TypeScript runs on the embedded PGlite, in one process that is a worker
 * (as Python's tests/durable/test_durable_control.py): cancel a running or waiting run, fork a run
 * from step N (and a failed run from its failing step, without repeating its earlier tool),
 * enqueue a run for the worker, read its recorded steps. The cross-language and Postgres cases run
 * from tests/durable/test_durable_ts_control.py (test/control-driver.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, setTracingDisabled, tool, Usage } from '@openai/agents';
import type { Model, ModelProvider, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import { z } from 'zod';
import {
  approve,
  cancelRun,
  ConfigurationError,
  enqueueRun,
  forkRun,
  idempotencyKey,
  listRuns,
  prepareSystemDatabase,
  recordedSteps,
  RunCancelledError,
  RunNotFoundError,
  RunNotWaitingError,
  RunStateStore,
  runDurable,
  shutdownDurable,
  systemDatabaseUrl,
  worker,
} from '../src/index.js';

setTracingDisabled(true);

const events: string[] = [];

const call = (name: string, args: unknown, callId: string) => ({
  type: 'function_call' as const,
  name,
  callId,
  status: 'completed' as const,
  arguments: JSON.stringify(args),
});
const message = (text: string) => ({
  type: 'message' as const,
  role: 'assistant' as const,
  status: 'completed' as const,
  content: [{ type: 'output_text' as const, text }],
});

type Script = (results: number) => ModelResponse['output'];

class ScriptModel implements Model {
  constructor(
    private readonly name: string,
    private readonly script: Script,
  ) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = Array.isArray(request.input) ? request.input : [];
    const results = items.filter((i) => (i as { type?: string }).type === 'function_call_result').length;
    events.push(`model ${this.name} ${results}`);
    return { output: this.script(results), usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }) };
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<StreamEvent> {
    throw new Error('not streamed in these tests');
  }
}

class QuotaError extends Error {
  override name = 'QuotaError';
}

let quotaFailures = 0;
const SCRIPTS: Record<string, Script> = {
  charger: (n) => (n < 3 ? [call('charge', {}, `call_${n}`)] : [message('charged 3 times')]),
  sleeper: (n) => [call('slow', { ms: 1500 }, `s${n}`)],
  approver: (n) => (n === 0 ? [call('refund', { order_id: '42' }, 'call_1')] : [message('refunded')]),
  flaky: (n) => {
    if (n === 0) return [call('ping', {}, 'p1')];
    if (quotaFailures > 0) {
      quotaFailures -= 1;
      throw new QuotaError('quota exceeded');
    }
    return [message('pong received')];
  },
};
const provider: ModelProvider = { getModel: (name) => new ScriptModel(name ?? '', SCRIPTS[name ?? '']!) };

const charge = tool({
  name: 'charge',
  description: 'Charge.',
  parameters: z.object({}),
  execute: async (_args, _context, details) => {
    events.push(`tool charge ${idempotencyKey(details)}`);
    return 'charged';
  },
});
const slow = tool({
  name: 'slow',
  description: 'Wait a while.',
  parameters: z.object({ ms: z.number() }),
  execute: async ({ ms }) => {
    events.push('tool slow');
    await new Promise((done) => setTimeout(done, ms));
    return 'waited';
  },
});
const refund = tool({
  name: 'refund',
  description: 'Refund.',
  parameters: z.object({ order_id: z.string() }),
  needsApproval: true,
  execute: async () => 'refunded',
});
const ping = tool({
  name: 'ping',
  description: 'Ping (a side effect that must not repeat).',
  parameters: z.object({}),
  execute: async () => {
    events.push('tool ping');
    return 'pong';
  },
});

const agents = {
  charger: new Agent({ name: 'charger', model: 'charger', tools: [charge] }),
  sleeper: new Agent({ name: 'sleeper', model: 'sleeper', tools: [slow] }),
  approver: new Agent({ name: 'approver', model: 'approver', tools: [refund] }),
  flaky: new Agent({ name: 'flaky', model: 'flaky', tools: [ping] }),
};

const root = mkdtempSync(join(tmpdir(), 'timestep-control-'));
const store = new RunStateStore(`sqlite:///${join(root, 'runs.db')}`);
const stop = new AbortController();
let working: Promise<void>;

before(async () => {
  delete process.env.TIMESTEP_TS_DBOS_URL;
  // the system database exists before any worker (a deploy step), then this process is a worker
  assert.equal(await prepareSystemDatabase(store), join(root, 'runs.dbos.pglite'));
  working = worker(Object.values(agents), { store, modelProvider: provider, signal: stop.signal, pollIntervalMs: 100 });
  await new Promise((done) => setTimeout(done, 200));
});

after(async () => {
  stop.abort();
  await working;
  await shutdownDurable();
  await store.close();
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

const status = async (runId: string): Promise<string> => {
  try {
    return (await store.run(runId)).status;
  } catch {
    return '';
  }
};

test('systemDatabaseUrl: the PGlite directory beside a SQLite store, the store itself on Postgres', () => {
  assert.equal(systemDatabaseUrl(store.url), join(root, 'runs.dbos.pglite'));
  assert.equal(systemDatabaseUrl('postgresql+psycopg://u:p@h:5/db'), 'postgresql://u:p@h:5/db');
});

test('cancelling a running first segment stops it at the next step and records who and when', async () => {
  events.length = 0;
  const running = runDurable(agents.sleeper, 'wait', { runId: 'c-cancel', store, modelProvider: provider });
  const outcome = running.then(
    () => undefined,
    (error: unknown) => error,
  );
  await until(async () => events.includes('tool slow'), 'the slow tool');
  const before = await store.run('c-cancel');
  assert.deepEqual([before.status, before.latestVersion, before.agentName], ['running', 0, 'sleeper']);
  assert.equal(await cancelRun('c-cancel', { store, by: 'ops' }), true);
  const error = await outcome;
  assert.ok(error instanceof RunCancelledError);
  assert.match(error.message, /'c-cancel' was cancelled$/);
  const after = await store.run('c-cancel');
  assert.deepEqual([after.status, after.latestVersion], ['cancelled', 0]);
  assert.equal(after.metadata.error, "run 'c-cancel' was cancelled by ops");
  assert.equal(after.metadata.cancelled_by, 'ops');
  assert.ok(String(after.metadata.cancelled_at) >= before.createdAt);
  assert.deepEqual(
    events.filter((e) => e.startsWith('model')),
    ['model sleeper 0'],
  );
});

test('a segment past its timeout is cancelled at the next step and the run recorded as cancelled', async () => {
  events.length = 0;
  await assert.rejects(
    runDurable(agents.sleeper, 'wait', { runId: 'c-timeout', store, modelProvider: provider, timeoutMs: 500 }),
    (error: unknown) => {
      assert.ok(error instanceof RunCancelledError);
      assert.match(error.message, /'c-timeout' was cancelled or exceeded its timeout \(500 ms\)/);
      return true;
    },
  );
  const run = await store.run('c-timeout');
  assert.equal(run.status, 'cancelled');
  assert.match(String(run.metadata.error), /exceeded its timeout \(500 ms\)/);
  assert.deepEqual(events.filter((e) => e.startsWith('model')), ['model sleeper 0']);
});

test('cancelling a waiting run: no segment to stop, the run is cancelled and cannot be approved', async () => {
  const result = await runDurable(agents.approver, 'refund', { runId: 'c-wait', store, modelProvider: provider });
  assert.equal(result.interruptions.length, 1);
  assert.ok((await listRuns({ store, status: 'waiting' })).some((r) => r.runId === 'c-wait'));
  assert.equal(await cancelRun('c-wait', { store }), false);
  const run = await store.run('c-wait');
  assert.equal(run.status, 'cancelled');
  assert.equal(run.metadata.error, "run 'c-wait' was cancelled");
  assert.equal(run.metadata.cancelled_by, undefined);
  await assert.rejects(approve('c-wait', { store }), RunNotWaitingError);
  assert.ok(!(await listRuns({ store, status: 'waiting' })).some((r) => r.runId === 'c-wait'));
  assert.equal((await listRuns({ store })).find((r) => r.runId === 'c-wait')?.status, 'cancelled');
});

test('cancelling an unknown run is RunNotFoundError; a run running in Python is ConfigurationError', async () => {
  await assert.rejects(cancelRun('c-nobody', { store }), RunNotFoundError);
  // a Python durable run's first row (as Python's segment writes it), running in Python's engine
  const first = await store.get('c-wait', { version: 0 });
  await store.saveJson('c-python', first.stateJson!, { status: 'running', metadata: { durable_agent: 'approver' } });
  await assert.rejects(cancelRun('c-python', { store }), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /running in Python.*Python's cancel_run/);
    return true;
  });
  assert.equal(await status('c-python'), 'running');
  await assert.rejects(forkRun('c-python', 'c-python-fork', { fromStep: 1, store }), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /ran in Python.*Python's fork_run/);
    return true;
  });
  await store.setStatus('c-python', 'waiting');
  assert.equal(await cancelRun('c-python', { store, by: 'ops' }), false); // waiting: either language
  assert.equal(await status('c-python'), 'cancelled');
});

test('recordedSteps lists every checkpointed step of a run, and forkRun replays the steps before N', async () => {
  events.length = 0;
  const result = await runDurable(agents.charger, 'pay', { runId: 'c-src', store, modelProvider: provider });
  assert.equal(result.finalOutput, 'charged 3 times');
  const steps = await recordedSteps('c-src', { store });
  assert.deepEqual(
    steps.map((s) => [s.segment, s.stepId, s.name]),
    [
      ['c-src@0', 1, 'timestep.model.get_response'],
      ['c-src@0', 2, 'timestep.tool:charge'],
      ['c-src@0', 3, 'timestep.model.get_response'],
      ['c-src@0', 4, 'timestep.tool:charge'],
      ['c-src@0', 5, 'timestep.model.get_response'],
      ['c-src@0', 6, 'timestep.tool:charge'],
      ['c-src@0', 7, 'timestep.model.get_response'],
    ],
  );
  for (const step of steps) {
    assert.equal(step.error, null);
    assert.ok(typeof step.startedAtMs === 'number' && typeof step.durationMs === 'number' && step.durationMs >= 0);
  }
  assert.deepEqual(await recordedSteps('c-nobody', { store }), []);

  // numbered from 1 as Python numbers its steps (DBOS TypeScript's own ids start at 0): the
  // same numbers and the same fork as tests/durable/test_durable_control.py's Python twin
  await assert.rejects(forkRun('c-src', 'c-fork', { fromStep: 8, store }), /has no step 8 to fork at: its segment 'c-src@0' recorded steps 1 to 7/);
  await assert.rejects(forkRun('c-src', 'c-wait', { fromStep: 5, store }), /run 'c-wait' already exists/);
  await assert.rejects(forkRun('c-nobody', 'c-fork', { fromStep: 1, store }), RunNotFoundError);
  const before = events.length;
  assert.equal(await forkRun('c-src', 'c-fork', { fromStep: 5, store }), 'c-fork@0');
  const lineage = { run_id: 'c-src', segment: 'c-src@0', step: 5 };
  assert.deepEqual((await store.run('c-fork')).metadata.forked_from, lineage); // stored at once
  await until(async () => (await status('c-fork')) === 'done', 'the fork to finish');
  const stored = await store.get('c-fork');
  assert.equal(stored.version, 2); // 1: the fork stored at once, 2: its end
  assert.deepEqual((await store.run('c-fork')).metadata.forked_from, lineage);
  const forkEvents = events.slice(before);
  // steps 1-4 came from the checkpoint: the fork asks the model twice and charges once, anew
  // (Python's fork_run(from_step=5) of the same run: turns 2 and 3, one charge)
  assert.deepEqual(forkEvents.filter((e) => e.startsWith('model')), ['model charger 2', 'model charger 3']);
  const charges = forkEvents.filter((e) => e.startsWith('tool'));
  assert.equal(charges.length, 1);
  const sourceKeys = events.slice(0, before).filter((e) => e.startsWith('tool'));
  assert.ok(!sourceKeys.includes(charges[0]!), 'a fork is a new run: new idempotency keys');
});

test('forkRun retries a failed run from its failing step without running its earlier tool again', async () => {
  events.length = 0;
  quotaFailures = 1;
  await assert.rejects(runDurable(agents.flaky, 'ping once', { runId: 'c-flaky', store, modelProvider: provider }), /quota exceeded/);
  const failed = await store.run('c-flaky');
  assert.deepEqual([failed.status, failed.metadata.error], ['failed', 'QuotaError: quota exceeded']);
  const steps = await recordedSteps('c-flaky', { store });
  const failing = steps.find((s) => s.error !== null)!;
  // steps: 1 model, 2 tool ping, 3 model (failed): retry from step 3, as in Python's twin
  assert.deepEqual([failing.stepId, failing.name], [3, 'timestep.model.get_response']);
  assert.match(failing.error!, /quota exceeded/);
  await forkRun('c-flaky', 'c-flaky-2', { fromStep: failing.stepId, store });
  await until(async () => (await status('c-flaky-2')) === 'done', 'the retried fork');
  assert.deepEqual(events, ['model flaky 0', 'tool ping', 'model flaky 1', 'model flaky 1']);
});

test('enqueueRun queues a run for a worker; a context that is not a JSON object is refused', async () => {
  await assert.rejects(
    enqueueRun('charger', 'pay', { runId: 'c-bad', store, context: [1] as never }),
    ConfigurationError,
  );
  await enqueueRun(agents.charger, 'pay', { runId: 'c-queued', store });
  await until(async () => (await status('c-queued')) === 'done', 'the queued run');
  const run = await store.run('c-queued');
  assert.deepEqual([run.agentName, run.metadata.durable_agent, run.metadata.durable_language], ['charger', 'charger', 'typescript']);
  assert.equal((await store.get('c-queued')).version, 1);
});
