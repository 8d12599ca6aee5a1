/**
 * The seed's TypeScript snippets, verbatim: `new RunStateStore('state.json', agent)`,
 * `load()` with no arguments (the file's stem is the run id, the constructor's agent is used),
 * `runAgent(agent, input, session, stream)` positionally, `consumeResult`, `save(result.state)`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Runner, setTracingDisabled } from '@openai/agents';
import {
  ConfigurationError,
  RunFinishedError,
  RunNotFoundError,
  RunStateStore,
  TimestepSession,
  consumeResult,
  runAgent,
} from '../src/index.js';
import { refundCall, scripted, supportAgent, text } from './fixtures.js';

setTracingDisabled(true);
const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-seed-'));

describe('the seed snippets', () => {
  it('run verbatim: save, load() with no arguments, positional session and stream', async () => {
    const dir = tmp();
    const agent = supportAgent(scripted([refundCall('call_1')], [text('Refunded.')]));
    const session = new TimestepSession('seed', { db: `sqlite:///${join(dir, 'sessions.db')}` });
    const stateStore = new RunStateStore(join(dir, 'state.json'), agent);
    try {
      let result = await runAgent(agent, 'Refund order 42', session, true);
      result = await consumeResult(result);
      assert.equal(result.interruptions.length, 1);
      await stateStore.save(result.state);

      const stored = await stateStore.get();
      assert.equal(stored.runId, 'state'); // the file's stem
      assert.equal(stored.status, 'waiting');

      const savedState = await stateStore.load();
      for (const interruption of savedState.getInterruptions()) {
        savedState.approve(interruption);
      }
      result = await runAgent(agent, savedState, session, false);
      result = await consumeResult(result);
      assert.equal(result.finalOutput, 'Refunded.');
      await stateStore.save(result.state);

      const versions = await stateStore.versions();
      assert.deepEqual(
        versions.map((v) => [v.version, v.status]),
        [
          [1, 'waiting'],
          [2, 'done'],
        ],
      );
      assert.ok((await session.getItems()).length >= 3);
    } finally {
      await session.close();
      await stateStore.close();
    }
  });

  it("keeps the options-object form and the store's { runId } option", async () => {
    const dir = tmp();
    const agent = supportAgent(scripted([text('hi')]));
    const store = new RunStateStore(`sqlite:///${join(dir, 'runs.db')}`, { runId: 'fixed' });
    try {
      const runner = new Runner({ tracingDisabled: true });
      const result = await runAgent(agent, 'hello', { runId: 'fixed', store, runner, durable: false });
      assert.equal(result.finalOutput, 'hi');
      assert.equal((await store.get()).runId, 'fixed');
      assert.equal((await store.load(undefined, agent)).getInterruptions().length, 0);
    } finally {
      await store.close();
    }
  });

  it('names what is missing: no agent for load(), no run id on a database', async () => {
    const dir = tmp();
    const store = new RunStateStore(`sqlite:///${join(dir, 'runs.db')}`);
    try {
      await assert.rejects(store.load('x'), ConfigurationError);
      await assert.rejects(store.get(), RunNotFoundError);
      assert.throws(
        () => new RunStateStore(join(dir, 'a.json'), { keepVersions: 0 }),
        ConfigurationError,
      );
    } finally {
      await store.close();
    }
  });

  it('refuses to resume a finished run (RunFinishedError)', async () => {
    const dir = tmp();
    const agent = supportAgent(scripted([text('done')]));
    const store = new RunStateStore(join(dir, 'finished.json'), agent);
    const result = await runAgent(agent, 'hi', null, false);
    await store.save(result.state);
    const state = await store.load();
    await assert.rejects(runAgent(agent, state, null, false), RunFinishedError);
  });
});
