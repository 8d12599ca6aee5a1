/**
 * RunStateStore and runAgent / consumeResult in Node: the same rows as the Python store, on a
 * file, SQLite, and Postgres (when TIMESTEP_TEST_POSTGRES_URL names a server), with stale-save
 * detection and Python rows translated on load.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Runner } from '@openai/agents';
import {
  CorruptStateError,
  RunStateStore,
  StaleStateError,
  StoreSchemaError,
  RunNotFoundError,
  SchemaVersionError,
  StateError,
  StateMismatchError,
  consumeResult,
  jsSdkVersion,
  runAgent,
  type Json,
} from '../src/index.js';
import { VECTORS } from './generate-vectors.js';
import { Agent, MCPServerStdio } from '@openai/agents';
import { checkAgainstGraph } from '../src/store/restore.js';
import type { Sql } from '../src/store/engine.js';
import { serializeState } from '../src/store/store.js';
import { lookup, lookupCall, refundCall, scripted, supportAgent, text } from './fixtures.js';

const runner = new Runner({ tracingDisabled: true });
const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-ts-'));

const targets: Array<[string, () => string]> = [
  ['file', () => join(tmp(), 'run.json')],
  ['sqlite', () => `sqlite:///${join(tmp(), 'runs.db')}`],
];
const pgUrl = process.env.TIMESTEP_TEST_POSTGRES_URL;
if (pgUrl) targets.push(['postgresql', () => pgUrl]);

for (const [kind, makeTarget] of targets) {
  describe(`RunStateStore (${kind})`, () => {
    it('saves an interruption, loads it, approves, resumes and saves the finished run', async () => {
      const store = new RunStateStore(makeTarget());
      assert.equal(store.kind, kind);
      const runId = `ts-${kind}-${Date.now()}`;
      try {
        const agent = supportAgent(scripted([refundCall('call_1')], [text('Refunded.')]));
        const first = await runAgent(agent, 'Refund order 42', { runId, store, runner, durable: false });
        assert.deepEqual(
          first.interruptions.map((i) => (i.rawItem as { callId: string }).callId),
          ['call_1'],
        );
        const waiting = await store.get(runId);
        assert.equal(waiting.version, 1);
        assert.equal(waiting.status, 'waiting');
        assert.equal(waiting.language, 'typescript');
        assert.equal(waiting.sdkVersion, '0.20.0');
        assert.equal(waiting.schemaVersion, '1.22');
        assert.deepEqual(waiting.pendingApprovals, [
          { callId: 'call_1', toolName: 'refund', arguments: '{"order_id":"42","amount":5}', agentName: 'support' },
        ]);

        const state = await store.load(runId, agent);
        state.approve(state.getInterruptions()[0]!);
        const done = await runAgent(agent, state, { runId, store, runner, durable: false });
        assert.equal(done.finalOutput, 'Refunded.');
        const row = await store.get(runId);
        assert.equal(row.version, 2);
        assert.equal(row.status, 'done');
        const runs = await store.listRuns({ status: 'done' });
        assert.ok(runs.some((r) => r.runId === runId && r.latestVersion === 2));
      } finally {
        await store.close();
      }
    });

    it('refuses a save based on an older version', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = `stale-${kind}-${Date.now()}`;
      try {
        const agent = supportAgent(scripted([refundCall('call_1')]));
        await runAgent(agent, 'Refund order 42', { runId, store, runner, durable: false });
        const a = await store.load(runId, agent);
        const b = await store.load(runId, agent);
        await store.save(a, { runId });
        await assert.rejects(store.save(b, { runId }), (error: unknown) => {
          assert.ok(error instanceof StaleStateError);
          assert.equal((error as StaleStateError).expected, 1);
          assert.equal((error as StaleStateError).actual, 2);
          return true;
        });
      } finally {
        await store.close();
      }
    });

    it('records why a run ended in its metadata', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = `failed-${kind}-${Date.now()}`;
      try {
        const agent = supportAgent(scripted([refundCall('call_1')]));
        await runAgent(agent, 'Refund order 42', { runId, store, runner, durable: false });
        await store.setStatus(runId, 'failed', { metadata: { error: 'QuotaError: quota exceeded' } });
        await store.setStatus(runId, 'failed', { metadata: { by: 'ops' } });
        const [run] = (await store.listRuns({ status: 'failed' })).filter((r) => r.runId === runId);
        assert.ok(run, 'the failed run is listed');
        assert.equal(run.metadata.error, 'QuotaError: quota exceeded');
        assert.equal(run.metadata.by, 'ops');
        assert.equal(run.latestVersion, 1);
      } finally {
        await store.close();
      }
    });

    it('creates a run\'s first row (version 0, running) once', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = `first-${kind}-${Date.now()}`;
      try {
        const agent = supportAgent(scripted([refundCall('call_1')]));
        const result = await runner.run(agent, 'Refund order 42');
        const created = await store.createRun(result.state, { runId, metadata: { durable_agent: 'support' } });
        assert.equal(created?.version, 0);
        assert.equal(created?.status, 'running');
        assert.equal(await store.createRun(result.state, { runId }), undefined);
        const [run] = (await store.listRuns({ status: 'running' })).filter((r) => r.runId === runId);
        assert.ok(run, 'the running run is listed');
        assert.equal(run.latestVersion, 0);
        assert.deepEqual(run.metadata, { durable_agent: 'support' });
        await assert.rejects(store.save(result, { runId, expectedVersion: 1 }), StaleStateError);
        const saved = await store.save(result, { runId, expectedVersion: 0 });
        assert.equal(saved.version, 1);
        assert.deepEqual(
          (await store.versions(runId)).map((v) => [v.version, v.status]),
          [[0, 'running'], [1, 'waiting']],
        );
      } finally {
        await store.close();
      }
    });

    it('translates a Python row to the JS format on load', async () => {
      const store = new RunStateStore(makeTarget());
      const runId = `py-${kind}-${Date.now()}`;
      try {
        const python = JSON.parse(
          readFileSync(join(VECTORS, 'mixed_decisions', 'python.json'), 'utf8'),
        ) as Json;
        const saved = await store.saveJson(runId, python, { sdkVersion: '0.24.0' });
        assert.equal(saved.language, 'python');
        assert.equal(saved.status, 'waiting');
        const agent = supportAgent(scripted([text('One refunded, one refused.')]));
        const state = await store.load(runId, agent);
        const result = await runner.run(agent, state);
        assert.equal(result.finalOutput, 'One refunded, one refused.');
        const outputs = result.newItems
          .filter((i) => i.type === 'tool_call_output_item')
          .map((i) => (i as unknown as { output: unknown }).output);
        assert.deepEqual(outputs, ['refunded 42 5', 'Too much.']);
      } finally {
        await store.close();
      }
    });
  });
}

describe('RunStateStore errors and facts', () => {
  it('names a missing run', async () => {
    const store = new RunStateStore(`sqlite:///${join(tmp(), 'empty.db')}`);
    try {
      await assert.rejects(store.get('nope'), RunNotFoundError);
    } finally {
      await store.close();
    }
  });

  it('refuses a database at an unknown schema revision', async () => {
    const path = join(tmp(), 'future.db');
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (p: string) => { exec(sql: string): void; close(): void };
    const db = new Database(path);
    db.exec("CREATE TABLE timestep_alembic_version (version_num VARCHAR(32) NOT NULL); INSERT INTO timestep_alembic_version VALUES ('9999')");
    db.close();
    const store = new RunStateStore(`sqlite:///${path}`);
    try {
      await assert.rejects(store.get('x'), (error: unknown) => {
        assert.ok(error instanceof StoreSchemaError);
        assert.match(error.message, /revision '9999'.*newer timestep/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it('detects a body edited outside timestep by its checksum; rows without one still load', async () => {
    const path = join(tmp(), 'sum.db');
    const store = new RunStateStore(`sqlite:///${path}`);
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (p: string) => { exec(sql: string): void; close(): void };
    try {
      await store.saveJson('r1', JSON.parse(readFileSync(join(VECTORS, 'single_approval', 'typescript.json'), 'utf8')) as Json);
      const db = new Database(path);
      db.exec("UPDATE timestep_run_states SET state_json = replace(state_json, '\"refund\"', '\"refunD\"')");
      await assert.rejects(store.get('r1'), (error: unknown) => {
        assert.ok(error instanceof CorruptStateError);
        assert.match(error.message, /run 'r1' version 1: .*does not match its checksum/);
        return true;
      });
      db.exec('UPDATE timestep_run_states SET state_sha256 = NULL');
      db.close();
      assert.equal((await store.get('r1')).version, 1);
    } finally {
      await store.close();
    }
  });

  it('upgrades a revision 0001 database (adds the checksum column) and keeps its rows', async () => {
    const path = join(tmp(), 'old.db');
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (p: string) => {
      exec(sql: string): void;
      prepare(sql: string): { all(): Array<Record<string, unknown>> };
      close(): void;
    };
    const db = new Database(path);
    db.exec(`CREATE TABLE timestep_alembic_version (version_num VARCHAR(32) NOT NULL);
      INSERT INTO timestep_alembic_version VALUES ('0001');
      CREATE TABLE timestep_runs (run_id TEXT PRIMARY KEY, agent_name TEXT NOT NULL,
        status TEXT NOT NULL, latest_version INTEGER NOT NULL, language TEXT NOT NULL,
        pending_approvals TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
      CREATE TABLE timestep_run_states (run_id TEXT NOT NULL, version INTEGER NOT NULL,
        language TEXT NOT NULL, sdk_version TEXT NOT NULL, schema_version TEXT NOT NULL,
        agent_name TEXT NOT NULL, status TEXT NOT NULL, pending_approvals TEXT NOT NULL,
        state_json TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (run_id, version));
      CREATE TABLE timestep_approvals (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
        call_id TEXT NOT NULL, tool_name TEXT NOT NULL, decision TEXT NOT NULL,
        always BOOLEAN NOT NULL, reason TEXT, decided_by TEXT, decided_at TEXT NOT NULL,
        state_version INTEGER NOT NULL);
      INSERT INTO timestep_approvals (run_id, call_id, tool_name, decision, always, decided_at,
        state_version) VALUES ('old', 'c1', 'refund', 'approve', 0, '2026-01-01T00:00:00Z', 1);`);
    db.close();
    const store = new RunStateStore(`sqlite:///${path}`);
    try {
      const doc = JSON.parse(readFileSync(join(VECTORS, 'single_approval', 'typescript.json'), 'utf8')) as Json;
      assert.equal((await store.saveJson('r1', doc)).version, 1);
      assert.equal((await store.get('r1')).agentName, 'support');
      const [old] = await store.decisions('old');
      assert.deepEqual([old?.decision, old?.arguments, old?.originalArguments, old?.output], ['approve', null, null, null]);
    } finally {
      await store.close();
    }
    const check = new Database(path);
    const [revision] = check.prepare('SELECT version_num FROM timestep_alembic_version').all();
    const columns = check.prepare('PRAGMA table_info(timestep_approvals)').all().map((c) => c.name);
    check.close();
    assert.equal(revision?.version_num, '0005');
    assert.deepEqual(columns.slice(-3), ['arguments', 'original_arguments', 'output']);
  });

  it('records the installed @openai/agents version', () => {
    assert.equal(jsSdkVersion(), '0.20.0');
    assert.equal(jsSdkVersion(), '0.20.0'); // read once, then remembered
  });

  it('serializes a state as toJSON does, leaving stack traces as they were', async () => {
    const result = await runner.run(
      supportAgent(scripted([lookupCall('c1')], [lookupCall('c2')], [lookupCall('c3')], [text('ok')])),
      'Where is order 42?',
    );
    const limit = Error.stackTraceLimit;
    assert.deepEqual(serializeState(result.state), result.state.toJSON());
    assert.equal(Error.stackTraceLimit, limit);
    const broken = Object.create(result.state) as typeof result.state;
    broken.toJSON = () => {
      throw new Error('cannot serialize');
    };
    assert.throws(() => serializeState(broken), (error: unknown) => {
      assert.ok(error instanceof Error && error.message === 'cannot serialize');
      assert.match(String(error.stack), /\n\s+at /); // the SDK's error, with its stack
      return true;
    });
    assert.equal(Error.stackTraceLimit, limit);
  });

  it('opens SQLite as Python does (WAL, synchronous=NORMAL) and recompiles cached statements after a schema change', async () => {
    const store = new RunStateStore(`sqlite:///${join(tmp(), 'pragmas.db')}`);
    const sql = (store as unknown as { backend: { sql: Sql } }).backend.sql;
    try {
      const doc = (await runner.run(supportAgent(scripted([refundCall('call_1')])), 'Refund order 42')).state.toJSON() as unknown as Json;
      await store.saveJson('p', doc);
      assert.deepEqual(await sql.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
      assert.deepEqual(await sql.query('PRAGMA synchronous'), [{ synchronous: 1 }]); // NORMAL
      const select = 'SELECT * FROM timestep_runs WHERE run_id = $1';
      const [before] = await sql.query(select, ['p']);
      assert.equal('extra' in before!, false);
      await sql.query('ALTER TABLE timestep_runs ADD COLUMN extra TEXT');
      await sql.query("UPDATE timestep_runs SET extra = 'x' WHERE run_id = $1", ['p']);
      const [after] = await sql.query(select, ['p']); // the same text: its cached statement
      assert.equal(after!.extra, 'x');
      await store.saveJson('p', doc, { expectedVersion: 1 });
      assert.deepEqual((await store.versions('p')).map((v) => v.version), [1, 2]);
    } finally {
      await store.close();
    }
  });

  it('rejects an unknown target scheme', () => {
    assert.throws(() => new RunStateStore('redis://localhost'), /unsupported store target/);
  });
});

describe('RunStateStore on damaged files and rows', () => {
  const seed = () => JSON.parse(readFileSync(join(VECTORS, 'single_approval', 'typescript.json'), 'utf8')) as Json;

  it('lists a run with unreadable side columns as a problem and keeps its metadata text on save', async () => {
    const path = join(tmp(), 'side.db');
    const store = new RunStateStore(`sqlite:///${path}`);
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (p: string) => { exec(sql: string): void; close(): void };
    try {
      await store.saveJson('good', seed());
      await store.saveJson('bad', seed());
      const db = new Database(path);
      db.exec("UPDATE timestep_runs SET metadata = '[1, 2]', pending_approvals = '{' WHERE run_id = 'bad'");
      db.close();
      const runs = new Map((await store.listRuns()).map((r) => [r.runId, r]));
      assert.equal(runs.get('good')!.problem, undefined);
      assert.match(runs.get('bad')!.problem ?? '', /pending_approvals column is unreadable \(it is not valid JSON/);
      assert.match(runs.get('bad')!.problem ?? '', /metadata column is unreadable \(it is not a JSON object but a list\)/);
      assert.equal((await store.saveJson('bad', seed(), { metadata: { next: true } })).version, 2);
      const after = (await store.listRuns()).find((r) => r.runId === 'bad')!;
      assert.deepEqual(after.metadata, { unreadable_metadata: '[1, 2]', next: true });
    } finally {
      await store.close();
    }
  });

  it('names a non-UTF-8 file and a wrapper without run_id, and writes nothing over them', async () => {
    const binary = join(tmp(), 'binary.json');
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x7b]));
    const store = new RunStateStore(binary, { runId: 'r1' });
    await assert.rejects(store.get('r1'), (error: unknown) => {
      assert.ok(error instanceof CorruptStateError);
      assert.match(error.message, /is not UTF-8 text/);
      return true;
    });
    await assert.rejects(store.saveJson('r1', seed()), CorruptStateError);
    assert.deepEqual([...readFileSync(binary)], [0xff, 0xfe, 0x7b]);

    const shape = join(tmp(), 'shape.json');
    const wrapped = new RunStateStore(shape, { runId: 'r1' });
    await wrapped.saveJson('r1', seed());
    const wrapper = JSON.parse(readFileSync(shape, 'utf8')) as Json;
    delete wrapper.run_id;
    writeFileSync(shape, JSON.stringify(wrapper));
    const before = readFileSync(shape, 'utf8');
    await assert.rejects(wrapped.listRuns(), /names no run/);
    await assert.rejects(wrapped.saveJson('r1', seed()), /names no run/);
    assert.equal(readFileSync(shape, 'utf8'), before);
  });
});

describe('RunStateStore.load checks the state against the agent (as Python)', () => {
  async function waitingStore(): Promise<[RunStateStore, string]> {
    const store = new RunStateStore(`sqlite:///${join(tmp(), 'runs.db')}`);
    const agent = supportAgent(scripted([refundCall('call_1')]));
    await runAgent(agent, 'Refund order 42', { runId: 'r1', store, runner, durable: false });
    return [store, 'r1'];
  }

  it('names a current agent missing from the graph', async () => {
    const [store, runId] = await waitingStore();
    const stranger = new Agent({ name: 'billing', tools: [lookup] });
    await assert.rejects(store.load(runId, stranger), (error: unknown) => {
      assert.ok(error instanceof StateMismatchError && error instanceof StateError);
      assert.match(error.message, /current agent 'support' is not in the agent graph starting at 'billing'/);
      return true;
    });
    await store.close();
  });

  it('names a pending tool the agent no longer has', async () => {
    const [store, runId] = await waitingStore();
    const withoutRefund = new Agent({ name: 'support', tools: [lookup] });
    await assert.rejects(
      store.load(runId, withoutRefund),
      (error: unknown) =>
        error instanceof StateMismatchError &&
        /pending call 'call_1' is for tool 'refund', which agent 'support' does not have \(tools: lookup\)/.test(
          error.message,
        ),
    );
    await store.close();
  });

  it('does not check a pending call of an agent with MCP servers against its tools', async () => {
    const [store, runId] = await waitingStore();
    const doc = (await store.get(runId)).stateJson as Json;
    const server = new MCPServerStdio({ command: 'true', name: 'refunds' });
    assert.throws(() => checkAgainstGraph(doc, new Agent({ name: 'support', tools: [lookup] })), StateMismatchError);
    checkAgainstGraph(doc, new Agent({ name: 'support', tools: [lookup], mcpServers: [server] }));
    await store.close();
  });

  it('reports an unreadable schema version and a corrupt field with their own errors', async () => {
    const [store, runId] = await waitingStore();
    const agent = supportAgent(scripted([]));
    const doc = (await store.get(runId)).stateJson as Json;
    await store.saveJson('future', { ...doc, $schemaVersion: '9.9' });
    await assert.rejects(
      store.load('future', agent),
      (error: unknown) => error instanceof SchemaVersionError && /'9\.9' is not readable/.test(error.message),
    );
    await store.saveJson('broken', { ...doc, currentTurn: 'many' });
    await assert.rejects(
      store.load('broken', agent),
      (error: unknown) =>
        error instanceof CorruptStateError && /cannot rebuild the state: .*currentTurn/.test(error.message),
    );
    // nothing was lost: the rows are still there to repair
    assert.equal((await store.get('broken')).stateJson?.currentTurn, 'many');
    await store.close();
  });
});

describe('runAgent / consumeResult', () => {
  it('drains a streamed run and saves it once consumed', async () => {
    const store = new RunStateStore(`sqlite:///${join(tmp(), 'stream.db')}`);
    try {
      const agent = supportAgent(scripted([refundCall('call_1')]));
      const streamed = await runAgent(agent, 'Refund order 42', {
        stream: true,
        runId: 'streamed',
        store,
        runner,
        durable: false,
      });
      const result = await consumeResult(streamed);
      assert.equal(result.interruptions.length, 1);
      const row = await store.get('streamed');
      assert.equal(row.status, 'waiting');
      assert.equal(row.version, 1);
    } finally {
      await store.close();
    }
  });

  it('runs without saving when no runId is given', async () => {
    const agent = supportAgent(scripted([text('hello')]));
    const result = await consumeResult(await runAgent(agent, 'hi', { runner }));
    assert.equal(result.finalOutput, 'hello');
  });
});
