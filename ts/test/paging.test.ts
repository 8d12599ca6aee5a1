/**
 * Store reads that stay flat as history grows, as in Python (tests/state/test_store_paging_and_marker.py):
 * `listRuns({ limit, offset })` pages cut by the database, and `changeMarker()` read from the
 * store's change counter that every write bumps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Runner } from '@openai/agents';
import { ConfigurationError, RunStateStore, runAgent } from '../src/index.js';
import { refundCall, scripted, supportAgent } from './fixtures.js';

const runner = new Runner({ tracingDisabled: true });
const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-ts-paging-'));

const targets: Array<[string, () => string]> = [['sqlite', () => `sqlite:///${join(tmp(), 'runs.db')}`]];
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;
if (pgUrl) targets.push(['postgresql', () => pgUrl]);

async function waiting(store: RunStateStore, runId: string): Promise<void> {
  const agent = supportAgent(scripted([refundCall('call_1')]));
  await runAgent(agent, 'Refund order 42', { runId, store, runner, durable: false });
}

for (const [kind, makeTarget] of targets) {
  describe(`RunStateStore paging and change marker (${kind})`, () => {
    it('pages runs newest first; the pages add up to the whole list', async () => {
      const store = new RunStateStore(makeTarget());
      const prefix = `page-${kind}-${Date.now()}-`;
      try {
        for (let i = 0; i < 5; i += 1) await waiting(store, `${prefix}${i}`);
        await store.setStatus(`${prefix}1`, 'done');
        const all = (await store.listRuns()).map((r) => r.runId);
        const ours = all.filter((id) => id.startsWith(prefix));
        assert.deepEqual(ours, [1, 4, 3, 2, 0].map((i) => `${prefix}${i}`));
        const paged: string[] = [];
        for (let offset = 0; offset < all.length + 2; offset += 2) {
          const page = await store.listRuns({ limit: 2, offset });
          assert.ok(page.length <= 2);
          paged.push(...page.map((r) => r.runId));
        }
        assert.deepEqual(paged, all);
        assert.deepEqual((await store.listRuns({ offset: 1 })).map((r) => r.runId), all.slice(1));
        assert.deepEqual(await store.listRuns({ limit: 0 }), []);
        const waitingAll = (await store.listRuns({ status: 'waiting' })).map((r) => r.runId);
        const waitingPage = await store.listRuns({ status: 'waiting', limit: 2, offset: 1 });
        assert.deepEqual(waitingPage.map((r) => r.runId), waitingAll.slice(1, 3));
        assert.equal(await store.countRuns(), all.length);
        assert.equal(await store.countRuns({ status: 'waiting' }), waitingAll.length);
        assert.equal(await store.countRuns({ status: 'failed' }), (await store.listRuns({ status: 'failed' })).length);
      } finally {
        await store.close();
      }
    });

    it('moves the change marker on every write, and not on reads', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = `marker-${kind}-${Date.now()}`;
      try {
        const seen = [await store.changeMarker()];
        const moved = async () => {
          const now = await store.changeMarker();
          assert.ok(!seen.includes(now), `the marker should move after a write (${String(now)})`);
          seen.push(now);
        };
        await waiting(store, `${runId}-old`);
        await moved();
        await waiting(store, runId);
        await moved();
        await store.decide(runId, undefined, 'approve');
        await moved();
        assert.equal(await store.claim(runId, 1), true);
        await moved();
        assert.equal(await store.claim(runId, 1), false);
        assert.equal(await store.changeMarker(), seen.at(-1));
        await store.setStatus(runId, 'done');
        await moved();
        await store.delete(`${runId}-old`);
        await moved();
        await store.listRuns();
        await store.get(runId);
        assert.equal(await store.changeMarker(), seen.at(-1));
      } finally {
        await store.close();
      }
    });
  });
}

describe('RunStateStore pages: bad values and file stores', () => {
  it('refuses a negative or fractional limit or offset', async () => {
    const store = new RunStateStore(`sqlite:///${join(tmp(), 'bad.db')}`);
    try {
      for (const page of [{ limit: -1 }, { offset: -1 }, { limit: 1.5 }, { limit: '2' as unknown as number }]) {
        await assert.rejects(store.listRuns(page), (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.match(String(error), /whole number/);
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  it('pages a file store like a database', async () => {
    const store = new RunStateStore(join(tmp(), 'one.json'));
    assert.equal(await store.changeMarker(), null);
    await waiting(store, 'one');
    assert.notEqual(await store.changeMarker(), null);
    assert.deepEqual((await store.listRuns({ limit: 1 })).map((r) => r.runId), ['one']);
    assert.deepEqual(await store.listRuns({ offset: 1 }), []);
    assert.deepEqual(await store.listRuns({ limit: 0 }), []);
    assert.equal(await store.countRuns(), 1);
    assert.equal(await store.countRuns({ status: 'done' }), 0);
  });
});
