/**
 * `listRuns` / `countRuns` filters (`agent`, `updatedSince`, `search`, with `status` and pages),
 * as Python's `list_runs(agent=, updated_since=, search=)`: applied in the database (a fresh
 * SQLite file; a fresh database on the server TIMESTEP_TEST_POSTGRES_URL names) and by the
 * file store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigurationError,
  listRuns,
  RunStateStore,
  type Json,
  type RunFilter,
  type RunStatus,
  type RunSummary,
} from '../src/index.js';
import type { Sql } from '../src/store/engine.js';
import { storeTimestamp } from '../src/store/filters.js';
import { postgresDatabases } from './pgDatabases.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-ts-filters-'));

/** A minimal RunState document naming its current agent. */
const doc = (agent: string): Json => ({
  $schemaVersion: '1.0',
  currentAgent: { name: agent },
  currentStep: null,
  modelResponses: [],
});

/** The store's timestamp text one microsecond later. */
function plusMicro(stamp: string): string {
  const micros = Date.parse(`${stamp.slice(0, 19)}Z`) * 1000 + Number(stamp.slice(20, 26)) + 1;
  const seconds = new Date(Math.floor(micros / 1_000_000) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}Z`;
}

const ids = (runs: RunSummary[]) => runs.map((r) => r.runId);

/** Asserts `call` rejects with a ConfigurationError whose message matches `pattern`. */
async function refused(call: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

/** Store targets with an empty store each: SQLite files, databases on a Postgres server. */
const targets: Array<[string, () => Promise<string>]> = [
  ['sqlite', async () => `sqlite:///${join(tmp(), 'runs.db')}`],
];
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;
if (pgUrl) {
  const databases = postgresDatabases(pgUrl, 'timestep_ts_filters');
  targets.push(['postgresql', () => databases.fresh()]);
  after(() => databases.dropAll());
}

interface Written {
  runId: string;
  agent: string;
  status: RunStatus;
}

/** The runs of the table tests, written in this order (so listed in the reverse one). */
const WRITTEN: Written[] = [
  { runId: 'job-a_b-0', agent: 'alpha', status: 'done' },
  { runId: 'job-axb-1', agent: 'beta', status: 'waiting' },
  { runId: 'JOB-ALPHA-2', agent: 'alpha', status: 'waiting' },
  { runId: 'job-a%b-3', agent: 'beta', status: 'done' },
  { runId: 'job-x-4', agent: 'alpha', status: 'waiting' },
  { runId: 'other-5', agent: 'beta', status: 'running' },
];

/** What a filter should give over WRITTEN (with their stored `updatedAt`), newest first. */
function expected(filter: RunFilter & { updatedSince?: string }, updated: Map<string, string>): string[] {
  return WRITTEN.filter(
    (w) =>
      (filter.status === undefined || w.status === filter.status) &&
      (filter.agent === undefined || w.agent === filter.agent) &&
      (filter.updatedSince === undefined || updated.get(w.runId)! >= filter.updatedSince) &&
      (filter.search === undefined || w.runId.toLowerCase().includes(filter.search.toLowerCase())),
  )
    .map((w) => w.runId)
    .reverse();
}

for (const [kind, makeTarget] of targets) {
  describe(`RunStateStore run filters (${kind})`, () => {
    it('filters by agent, updatedSince and search, alone and with status and pages', async () => {
      const store = new RunStateStore(await makeTarget());
      try {
        for (const w of WRITTEN) await store.saveJson(w.runId, doc(w.agent), { status: w.status });
        const all = await store.listRuns();
        assert.deepEqual(ids(all), WRITTEN.map((w) => w.runId).reverse());
        const updated = new Map(all.map((r) => [r.runId, r.updatedAt]));
        const since = updated.get('JOB-ALPHA-2')!;
        assert.match(since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

        // The cases spelled out once, then every filter and page against the reference.
        assert.deepEqual(ids(await store.listRuns({ agent: 'alpha' })), ['job-x-4', 'JOB-ALPHA-2', 'job-a_b-0']);
        assert.deepEqual(ids(await store.listRuns({ updatedSince: since })), ['other-5', 'job-x-4', 'job-a%b-3', 'JOB-ALPHA-2']);
        assert.deepEqual(ids(await store.listRuns({ search: 'A_B' })), ['job-a_b-0']);
        assert.deepEqual(ids(await store.listRuns({ search: 'a%b' })), ['job-a%b-3']);
        assert.deepEqual(ids(await store.listRuns({ search: 'job-al' })), ['JOB-ALPHA-2']);
        assert.deepEqual(ids(await store.listRuns({ search: 'a\\b' })), []);
        assert.deepEqual(
          ids(await store.listRuns({ status: 'waiting', agent: 'alpha', search: 'JOB', limit: 1, offset: 1 })),
          ['JOB-ALPHA-2'],
        );

        const filters: Array<RunFilter & { updatedSince?: string }> = [
          {},
          { agent: 'alpha' },
          { agent: 'beta' },
          { agent: 'nobody' },
          { updatedSince: since },
          { updatedSince: plusMicro(since) },
          { search: 'JOB' },
          { search: 'a_b' },
          { search: '_' },
          { search: '%' },
        ];
        for (const base of [...filters]) {
          for (const extra of [{ status: 'waiting' as const }, { status: 'done' as const }, { agent: 'beta' }, { search: 'b' }]) {
            filters.push({ ...base, ...extra });
          }
        }
        filters.push({ agent: 'alpha', updatedSince: since, search: 'x', status: 'waiting' });
        const pages = [{}, { limit: 2 }, { limit: 2, offset: 1 }, { offset: 2 }, { limit: 0 }, { limit: 10, offset: 5 }];
        for (const filter of filters) {
          const whole = expected(filter, updated);
          const listed = ids(await store.listRuns(filter));
          assert.deepEqual(listed, whole, JSON.stringify(filter));
          assert.equal(await store.countRuns(filter), listed.length, `count of ${JSON.stringify(filter)}`);
          for (const page of pages) {
            const offset = page.offset ?? 0;
            const cut = page.limit === undefined ? whole.slice(offset) : whole.slice(offset, offset + page.limit);
            assert.deepEqual(ids(await store.listRuns({ ...filter, ...page })), cut, JSON.stringify({ filter, page }));
          }
        }

        // durable listRuns takes the same options.
        assert.deepEqual(ids(await listRuns({ store, agent: 'beta', search: 'JOB', limit: 1 })), ['job-a%b-3']);
      } finally {
        await store.close();
      }
    });

    it('updatedSince includes its own moment, excludes a microsecond later, takes Dates and offsets', async () => {
      const store = new RunStateStore(await makeTarget());
      try {
        for (const runId of ['t-0', 't-1', 't-2']) await store.saveJson(runId, doc('alpha'));
        const [newest, middle, oldest] = await store.listRuns();
        const at = middle!.updatedAt;
        assert.deepEqual(ids(await store.listRuns({ updatedSince: at })), ['t-2', 't-1']);
        assert.deepEqual(ids(await store.listRuns({ updatedSince: plusMicro(at) })), ['t-2']);
        assert.equal(await store.countRuns({ updatedSince: plusMicro(at) }), 1);
        assert.deepEqual(ids(await store.listRuns({ updatedSince: plusMicro(newest!.updatedAt) })), []);
        // The same moment at +02:00 (and as a date alone, midnight UTC: every run is later).
        const local = new Date(Date.parse(`${at.slice(0, 19)}Z`) + 2 * 3600_000).toISOString().slice(0, 19);
        const shifted = `${local}.${at.slice(20, 26)}+02:00`;
        assert.deepEqual(ids(await store.listRuns({ updatedSince: shifted })), ['t-2', 't-1']);
        assert.equal(await store.countRuns({ updatedSince: oldest!.updatedAt.slice(0, 10) }), 3);
        // A Date counts from its millisecond (microseconds 000).
        const date = new Date(Date.parse(`${at.slice(0, 23)}Z`));
        const fromDate = [newest!, middle!, oldest!].filter((r) => r.updatedAt >= `${at.slice(0, 23)}000Z`);
        assert.deepEqual(ids(await store.listRuns({ updatedSince: date })), ids(fromDate));
        assert.ok(ids(fromDate).includes('t-1'));
        assert.deepEqual(ids(await store.listRuns({ updatedSince: new Date(Date.now() + 60_000) })), []);
        for (const bad of ['yesterday', '', '2026-13-40', '2026-02-30', '2026-12-02T24:00', '2026-12-02T10:00+25:00']) {
          await refused(() => store.listRuns({ updatedSince: bad }), /^updatedSince must be an ISO-8601 date or time, got "/);
          await refused(() => store.countRuns({ updatedSince: bad }), /updatedSince must be an ISO-8601/);
        }
        await refused(() => store.listRuns({ updatedSince: new Date(Number.NaN) }), /updatedSince must be/);
        await refused(() => store.listRuns({ updatedSince: 42 as unknown as string }), /got 42$/);
      } finally {
        await store.close();
      }
    });

    it('refuses an empty or non-string agent or search, and an unknown status', async () => {
      const store = new RunStateStore(await makeTarget());
      try {
        for (const name of ['agent', 'search'] as const) {
          for (const bad of ['', 7, null]) {
            const filter = { [name]: bad } as unknown as RunFilter;
            await refused(() => store.listRuns(filter), new RegExp(`^${name} must be a non-empty string, got `));
            await refused(() => store.countRuns(filter), new RegExp(`^${name} must be a non-empty string`));
          }
        }
        const paused = { status: 'paused' } as unknown as RunFilter;
        await refused(() => store.listRuns(paused), /^unknown status 'paused'; use one of running/);
        await refused(() => store.countRuns(paused), /^unknown status 'paused'/);
      } finally {
        await store.close();
      }
    });

    it('filters and pages in the database: a page of 2 of 20 runs reads 2 rows', async () => {
      const store = new RunStateStore(await makeTarget());
      try {
        for (let i = 0; i < 20; i += 1) {
          await store.saveJson(`bulk-${i}`, doc(i % 2 === 0 ? 'even' : 'odd'));
        }
        const sql = (store as unknown as { backend: { sql: Sql } }).backend.sql;
        const reads: Array<{ text: string; rows: number }> = [];
        const query = sql.query.bind(sql);
        sql.query = async (text, params) => {
          const rows = await query(text, params);
          if (/FROM timestep_runs/.test(text)) reads.push({ text, rows: rows.length });
          return rows;
        };
        const page = await store.listRuns({ agent: 'odd', limit: 2 });
        assert.deepEqual(ids(page), ['bulk-19', 'bulk-17']);
        assert.equal(reads.length, 1);
        assert.equal(reads[0]!.rows, 2);
        assert.match(reads[0]!.text, /WHERE agent_name = \$1 ORDER BY updated_at DESC LIMIT \$2/);

        reads.length = 0;
        const since = (await store.run('bulk-15')).updatedAt;
        reads.length = 0;
        const searched = await store.listRuns({ search: 'K-1', updatedSince: since, limit: 2, offset: 1 });
        assert.deepEqual(ids(searched), ['bulk-18', 'bulk-17']);
        assert.deepEqual(reads.map((r) => r.rows), [2]);
        assert.match(reads[0]!.text, /updated_at >= \$1 AND lower\(run_id\) LIKE lower\(\$2\) ESCAPE/);

        reads.length = 0;
        assert.equal(await store.countRuns({ agent: 'even', search: 'bulk' }), 10);
        assert.deepEqual(reads.map((r) => r.rows), [1]);
        assert.match(reads[0]!.text, /^SELECT count\(\*\) AS n FROM timestep_runs WHERE /);
      } finally {
        await store.close();
      }
    });
  });
}

describe('run filters: the file store and the timestamp text', () => {
  it('filters a file store the same way', async () => {
    const store = new RunStateStore(join(tmp(), 'one.json'));
    await store.saveJson('Run_A', doc('alpha'), { status: 'waiting' });
    const [run] = await store.listRuns();
    const cases: Array<[RunFilter, number]> = [
      [{ agent: 'alpha' }, 1],
      [{ agent: 'beta' }, 0],
      [{ search: 'run_a' }, 1],
      [{ search: 'N_A' }, 1],
      [{ search: 'run%a' }, 0],
      [{ search: 'runxa' }, 0],
      [{ updatedSince: run!.updatedAt }, 1],
      [{ updatedSince: plusMicro(run!.updatedAt) }, 0],
      [{ updatedSince: new Date(Date.parse(run!.updatedAt) - 1) }, 1],
      [{ agent: 'alpha', status: 'waiting', search: 'a' }, 1],
      [{ agent: 'alpha', status: 'done' }, 0],
    ];
    for (const [filter, n] of cases) {
      assert.deepEqual(ids(await store.listRuns(filter)), n ? ['Run_A'] : [], JSON.stringify(filter));
      assert.equal(await store.countRuns(filter), n, JSON.stringify(filter));
    }
    assert.deepEqual(await store.listRuns({ agent: 'alpha', offset: 1 }), []);
    await refused(() => store.listRuns({ updatedSince: 'yesterday' }), /updatedSince must be/);
    await refused(() => store.countRuns({ search: '' }), /search must be a non-empty string/);
  });

  it('renders updatedSince as the stored updated_at text', () => {
    const cases: Array<[string | Date, string]> = [
      ['2026-12-02T23:10:05.123456Z', '2026-12-02T23:10:05.123456Z'],
      ['2026-12-01', '2026-12-01T00:00:00.000000Z'],
      ['2026-12-02 23:10', '2026-12-02T23:10:00.000000Z'],
      ['2026-12-02T23:10:05', '2026-12-02T23:10:05.000000Z'],
      ['2026-12-02T23:10:05.1Z', '2026-12-02T23:10:05.100000Z'],
      ['2026-12-02T01:10:05.123456789+02:00', '2026-12-01T23:10:05.123456Z'],
      ['2026-12-31T22:30:00-0130', '2027-01-01T00:00:00.000000Z'],
      [new Date('2026-12-02T23:10:05.123Z'), '2026-12-02T23:10:05.123000Z'],
    ];
    for (const [value, text] of cases) assert.equal(storeTimestamp(value), text, String(value));
  });
});
