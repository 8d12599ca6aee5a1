/**
 * A pooled Postgres client the server closed (a restart, a terminated session) is dropped and the
 * store's next call works, as Python's tests/state/test_store_pg_pool.py checks for its pool.
 * Runs on a fresh database of the server TIMESTEP_TEST_POSTGRES_URL names (skipped without).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { Runner } from '@openai/agents';
import { type Json, RunStateStore } from '../src/index.js';
import { refundCall, scripted, supportAgent } from './fixtures.js';
import { postgresDatabases } from './pgDatabases.js';

const runner = new Runner({ tracingDisabled: true });
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
}

/** End every other session on the database of `dbUrl` and wait until they are gone. */
async function endSessions(dbUrl: string): Promise<void> {
  const pg = createRequire(import.meta.url)('pg') as { Client: new (o: { connectionString: string }) => PgClient };
  const admin = new pg.Client({ connectionString: dbUrl });
  await admin.connect();
  const name = new URL(dbUrl).pathname.slice(1);
  const others = 'FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()';
  try {
    await admin.query(`SELECT pg_terminate_backend(pid) ${others}`, [name]);
    const deadline = Date.now() + 10_000;
    while (Number((await admin.query(`SELECT count(*) AS n ${others}`, [name])).rows[0]?.n) > 0) {
      assert.ok(Date.now() < deadline, 'sessions did not end');
      await new Promise((done) => setTimeout(done, 20));
    }
  } finally {
    await admin.end();
  }
}

describe('Postgres pool', { skip: pgUrl ? false : 'TIMESTEP_TEST_POSTGRES_URL is not set' }, () => {
  const databases = postgresDatabases(pgUrl ?? '', 'timestep_ts_pool');
  after(() => databases.dropAll());

  it('replaces clients the server ended, and the store keeps working', async () => {
    const url = await databases.fresh();
    const store = new RunStateStore(url);
    try {
      const result = await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42');
      const doc = result.state.toJSON() as unknown as Json;
      await store.saveJson('r1', doc); // the pool now holds idle clients
      let latest = 1;
      for (const round of [1, 2]) {
        await endSessions(url);
        await new Promise((done) => setTimeout(done, 50)); // the idle clients see their sockets close
        const saved = await store.saveJson('r1', doc, { expectedVersion: latest });
        latest = saved.version;
        assert.deepEqual((await store.listRuns()).map((run) => run.runId), ['r1'], `round ${round}`);
        assert.equal((await store.run('r1')).latestVersion, latest);
      }
      assert.equal(latest, 3);
    } finally {
      await store.close();
    }
  });
});
