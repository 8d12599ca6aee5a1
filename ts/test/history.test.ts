/**
 * Run history and decisions on every backend, as in Python: versions(), keepVersions, run(),
 * listRuns, setStatus, delete; approve/reject recorded in `timestep_approvals` with the same
 * "no callId: the only undecided call" rule and typed errors; resume applies the decisions.
 * Postgres runs when TIMESTEP_TEST_POSTGRES_URL names a server (the cross-language pytest suite
 * also drives these paths on its own Postgres).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Runner } from '@openai/agents';
import {
  ApprovalAlreadyDecidedError,
  ApprovalError,
  ConfigurationError,
  RunNotFoundError,
  RunNotWaitingError,
  RunStateStore,
  UnknownCallError,
  approve,
  reject,
  runAgent,
  undecided,
} from '../src/index.js';
import { refundCall, refundExecutions, scripted, supportAgent, text } from './fixtures.js';

const runner = new Runner({ tracingDisabled: true });
const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-history-'));

const targets: Array<[string, () => string]> = [
  ['file', () => join(tmp(), 'run.json')],
  ['sqlite', () => `sqlite:///${join(tmp(), 'runs.db')}`],
];
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;
if (pgUrl) targets.push(['postgresql', () => pgUrl]);
const unique = (name: string) => `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;

for (const [kind, makeTarget] of targets) {
  describe(`run history (${kind})`, () => {
    it('lists kept versions oldest first and prunes to keepVersions', async () => {
      const target = makeTarget();
      const runId = kind === 'file' ? 'run' : unique('hist');
      const store = new RunStateStore(target, { keepVersions: 2 });
      try {
        const agent = supportAgent(scripted([refundCall('call_1')]));
        const first = await runAgent(agent, 'Refund order 42', null, false, { runner });
        for (let i = 0; i < 3; i += 1) await store.save(first.state, { runId, expectedVersion: i });
        const versions = await store.versions(runId);
        assert.deepEqual(
          versions.map((v) => [v.version, v.status, v.stateJson]),
          [
            [2, 'waiting', null],
            [3, 'waiting', null],
          ],
        );
        await assert.rejects(store.get(runId, { version: 1 }), /kept versions: 2, 3/);
        const summary = await store.run(runId);
        assert.equal(summary.latestVersion, 3);
        await store.setStatus(runId, 'cancelled', { metadata: { error: 'stopped' } });
        const [listed] = (await store.listRuns({ status: 'cancelled' })).filter(
          (r) => r.runId === runId,
        );
        assert.deepEqual(listed?.metadata, { error: 'stopped' });
        await store.delete(runId);
        await assert.rejects(store.versions(runId), RunNotFoundError);
        await assert.rejects(store.delete(runId), RunNotFoundError);
        if (kind === 'file') assert.equal(existsSync(target), false);
      } finally {
        await store.close();
      }
    });
  });
}

const dbTargets = targets.filter(([kind]) => kind !== 'file');
for (const [kind, makeTarget] of dbTargets) {
  describe(`decisions (${kind})`, () => {
    it('approves the only undecided call, records who and why, and resumes', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = unique('approve');
      try {
        const agent = supportAgent(scripted([refundCall('call_1', '7', 3)], [text('Refunded.')]));
        await runAgent(agent, 'Refund order 7', null, false, { runId, store, runner, durable: false });
        const before = refundExecutions.length;
        const decision = await approve(runId, {
          by: 'alice',
          reason: 'damaged',
          store,
          agent,
          resume: true,
          runOptions: { runner, durable: false },
        });
        assert.deepEqual(decision, {
          runId,
          callId: 'call_1',
          stateVersion: 1,
          decision: 'approve',
          allDecided: true,
          resumed: true,
        });
        assert.deepEqual(refundExecutions.slice(before), ['7/3']);
        const [record] = await store.decisions(runId);
        assert.equal(record?.decidedBy, 'alice');
        assert.equal(record?.reason, 'damaged');
        assert.equal(record?.toolName, 'refund');
        assert.equal(record?.always, false);
        const done = await store.get(runId);
        assert.deepEqual([done.version, done.status], [2, 'done']);
        await assert.rejects(approve(runId, { store }), RunNotWaitingError);
      } finally {
        await store.close();
      }
    });

    it('applies the same rules and errors as Python', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = unique('rules');
      try {
        const agent = supportAgent(
          scripted([refundCall('call_1', '1', 1), refundCall('call_2', '2', 2)]),
        );
        await runAgent(agent, 'Refund both', null, false, { runId, store, runner, durable: false });
        await assert.rejects(approve(unique('missing'), { store }), RunNotFoundError);
        await assert.rejects(
          approve(runId, { store }),
          (e: unknown) =>
            e instanceof ApprovalError &&
            !(e instanceof ApprovalAlreadyDecidedError) &&
            /has 2 undecided calls \(call_1, call_2\); name one with call_id/.test(e.message),
        );
        await assert.rejects(approve(runId, 'call_9', { store }), (e: unknown) => {
          return e instanceof UnknownCallError && /pending: call_1, call_2/.test(e.message);
        });
        const first = await reject(runId, 'call_2', { store, by: 'bob', reason: 'too much' });
        assert.equal(first.allDecided, false);
        await assert.rejects(
          approve(runId, 'call_2', { store }),
          (e: unknown) =>
            e instanceof ApprovalAlreadyDecidedError && /already rejected by bob at/.test(e.message),
        );
        const summary = await store.run(runId);
        assert.deepEqual(
          undecided(summary, await store.decisions(runId)).map((p) => p.callId),
          ['call_1'],
        );
        const second = await approve(runId, { store }); // the only undecided one
        assert.deepEqual([second.callId, second.allDecided, second.resumed], ['call_1', true, false]);
        assert.deepEqual(await store.readyToResume().then((ids) => ids.includes(runId)), true);
        await assert.rejects(
          approve(runId, { store }),
          (e: unknown) =>
            e instanceof ApprovalAlreadyDecidedError && /every pending call/.test(e.message),
        );
        assert.deepEqual(
          (await store.decisions(runId)).map((d) => [d.callId, d.decision, d.stateVersion]),
          [
            ['call_2', 'reject', 1],
            ['call_1', 'approve', 1],
          ],
        );
        await store.delete(runId);
        assert.deepEqual(await store.decisions(runId), []);
      } finally {
        await store.close();
      }
    });
  });
}

describe('decisions on a file store', () => {
  it('are refused with a ConfigurationError, and none are listed', async () => {
    const store = new RunStateStore(join(tmp(), 'run.json'));
    const agent = supportAgent(scripted([refundCall('call_1')]));
    await runAgent(agent, 'Refund', null, false, { runId: 'run', store, runner, durable: false });
    await assert.rejects(approve('run', { store }), ConfigurationError);
    assert.deepEqual(await store.decisions('run'), []);
  });
});
