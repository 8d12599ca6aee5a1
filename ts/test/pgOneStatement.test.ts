/**
 * Postgres writes a run's first row and a compare-and-set append in one statement each
 * (src/store/pgWrites.ts, as Python's tests/state/test_store_pg_one_statement.py): the same
 * outcomes as the transactional path, under races and with stored metadata the statement cannot
 * merge. Runs on a fresh database of the server TIMESTEP_TEST_POSTGRES_URL names (skipped without).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Runner } from '@openai/agents';
import { type Json, RunStateStore, StaleStateError } from '../src/index.js';
import type { Sql } from '../src/store/engine.js';
import { refundCall, scripted, supportAgent } from './fixtures.js';
import { postgresDatabases } from './pgDatabases.js';

const runner = new Runner({ tracingDisabled: true });
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;

/** A RunState document of a run waiting on a refund approval. */
async function waitingDoc(): Promise<Json> {
  const result = await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42');
  return result.state.toJSON() as unknown as Json;
}

const sqlOf = (store: RunStateStore): Sql => (store as unknown as { backend: { sql: Sql } }).backend.sql;

describe('Postgres one-statement writes', { skip: pgUrl ? false : 'TIMESTEP_TEST_POSTGRES_URL is not set' }, () => {
  const databases = postgresDatabases(pgUrl ?? '', 'timestep_ts_one_statement');
  /** A store on a fresh database. */
  const freshStore = async (): Promise<RunStateStore> => new RunStateStore(await databases.fresh());
  after(() => databases.dropAll());

  it('racing appends on one base write exactly one version', async () => {
    const store = await freshStore();
    try {
      const doc = await waitingDoc();
      await store.saveJson('r1', doc); // version 1
      for (const base of [1, 2, 3]) {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.saveJson('r1', doc, { expectedVersion: base })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.deepEqual(won.map((w) => w.value.version), [base + 1], `round on ${base}`);
        for (const { reason } of lost) {
          assert.ok(reason instanceof StaleStateError, String(reason));
          assert.equal(reason.actual, base + 1);
        }
      }
      assert.deepEqual((await store.versions('r1')).map((v) => v.version), [1, 2, 3, 4]);
      assert.equal((await store.run('r1')).latestVersion, 4);
      const marker = await store.changeMarker();
      await assert.rejects(store.saveJson('r1', doc, { expectedVersion: 2 }), (error: unknown) => {
        assert.ok(error instanceof StaleStateError);
        assert.deepEqual([error.expected, error.actual], [2, 4]);
        return true;
      });
      assert.equal(await store.changeMarker(), marker, 'a refused append changes nothing');
    } finally {
      await store.close();
    }
  });

  it('racing first rows: one creates version 0', async () => {
    const store = await freshStore();
    try {
      const result = await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42');
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, n) => store.createRun(result.state, { runId: 'first', metadata: { n } })),
      );
      const winners = made.filter((c) => c !== undefined);
      assert.equal(winners.length, 1);
      assert.equal(winners[0]!.version, 0);
      const [summary, ...others] = await store.listRuns();
      assert.deepEqual(others, []);
      assert.ok([0, 1, 2, 3, 4, 5].includes(summary!.metadata.n as number), JSON.stringify(summary!.metadata));
      assert.equal(summary!.latestVersion, 0);
      assert.deepEqual((await store.versions('first')).map((v) => v.version), [0]);
    } finally {
      await store.close();
    }
  });

  it('merges metadata and keeps stored metadata it cannot merge', async () => {
    const store = await freshStore();
    const sql = sqlOf(store);
    try {
      const doc = await waitingDoc();
      await store.saveJson('m', doc, { metadata: { a: 1, agent: 'x', ü: 'é' } });
      await store.saveJson('m', doc, { expectedVersion: 1, metadata: { agent: 'y', b: [1, 2] } });
      const run = await store.run('m');
      assert.deepEqual(run.metadata, { a: 1, agent: 'y', ü: 'é', b: [1, 2] });
      await store.saveJson('m', doc, { expectedVersion: 2 }); // no metadata: left as it was
      assert.deepEqual((await store.run('m')).metadata, run.metadata);
      // stored metadata the statement cannot merge: not JSON, JSON but no object, empty
      const cases: Array<[number, string, Json]> = [
        [3, 'not json {', { unreadable_metadata: 'not json {' }],
        [4, '[1, 2]', { unreadable_metadata: '[1, 2]' }],
        [5, '', {}],
      ];
      for (const [version, raw, kept] of cases) {
        await sql.query('UPDATE timestep_runs SET metadata = $1 WHERE run_id = $2', [raw, 'm']);
        const stored = await store.saveJson('m', doc, { expectedVersion: version, metadata: { k: version } });
        assert.equal(stored.version, version + 1);
        assert.deepEqual((await store.run('m')).metadata, { ...kept, k: version }, raw);
      }
      const [row] = await sql.query('SELECT metadata FROM timestep_runs');
      assert.deepEqual(JSON.parse(String(row!.metadata)), { k: 5 });
      // '' without new metadata is stored as NULL, as the transactional path writes {}
      await sql.query("UPDATE timestep_runs SET metadata = '' WHERE run_id = 'm'");
      await store.saveJson('m', doc, { expectedVersion: 6 });
      const [cleared] = await sql.query('SELECT metadata FROM timestep_runs');
      assert.equal(cleared!.metadata, null);
      assert.deepEqual((await store.versions('m')).map((v) => v.version), [1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await store.close();
    }
  });

  it('prepares both statements once per connection; they still write after the tables change', async () => {
    const store = await freshStore();
    const sql = sqlOf(store);
    try {
      const result = await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42');
      const doc = result.state.toJSON() as unknown as Json;
      await store.createRun(result.state, { runId: 'p' });
      await store.saveJson('p', doc, { expectedVersion: 0 });
      // one query at a time reuses the pool's one idle connection: the statements prepared there
      const prepared = await sql.query('SELECT name FROM pg_prepared_statements ORDER BY name');
      assert.deepEqual(prepared.map((r) => r.name), ['timestep_append_v1', 'timestep_create_run_v1']);
      // a schema change (a later migration adding columns) re-plans them: still one row each
      await sql.query('ALTER TABLE timestep_runs ADD COLUMN extra TEXT');
      await sql.query('ALTER TABLE timestep_run_states ADD COLUMN extra TEXT');
      await store.saveJson('p', doc, { expectedVersion: 1 });
      assert.equal((await store.createRun(result.state, { runId: 'q' }))?.version, 0);
      assert.equal(await store.createRun(result.state, { runId: 'q' }), undefined);
      await assert.rejects(store.saveJson('p', doc, { expectedVersion: 1 }), StaleStateError);
      assert.deepEqual((await store.versions('p')).map((v) => v.version), [0, 1, 2]);
      assert.deepEqual((await store.versions('q')).map((v) => v.version), [0]);
    } finally {
      await store.close();
    }
  });

  it('writes a first row and an append with an expected version in one statement each', async () => {
    const store = await freshStore();
    const sql = sqlOf(store);
    try {
      await store.changeMarker(); // the schema is in place
      const sent: string[] = [];
      const query = sql.query.bind(sql);
      const transaction = sql.transaction.bind(sql);
      sql.query = async (text, params) => {
        sent.push(text);
        return query(text, params);
      };
      sql.transaction = async (fn) => {
        sent.push('BEGIN');
        return transaction(fn);
      };
      const result = await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42');
      const doc = result.state.toJSON() as unknown as Json;
      const written = [
        ['createRun', () => store.createRun(result.state, { runId: 'one', metadata: { agent: 'x' } })],
        ['append', () => store.saveJson('one', doc, { expectedVersion: 0, metadata: { k: 1 } })],
      ] as const;
      for (const [name, write] of written) {
        sent.length = 0;
        const before = await store.changeMarker();
        sent.length = 0;
        await write();
        assert.equal(sent.length, 1, `${name}: ${JSON.stringify(sent)}`);
        for (const part of [/timestep_runs/, /INSERT INTO timestep_run_states/, /UPDATE timestep_changes/]) {
          assert.match(sent[0]!, part, name);
        }
        assert.equal(await store.changeMarker(), Number(before) + 1, name);
      }
      assert.deepEqual((await store.run('one')).metadata, { agent: 'x', k: 1 });
      assert.deepEqual((await store.versions('one')).map((v) => v.version), [0, 1]);
    } finally {
      await store.close();
    }
  });
});
