/**
 * Durable TypeScript runs, in-process parts: pinned persisted names, where the system database
 * lives, and the typed errors of the embedded PGlite (locked by another live process, corrupt,
 * not a data directory), none of which may hang. The crash and cross-language tests spawn
 * test/durable-driver.ts from tests/durable/test_durable_ts.py.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  durableNames,
  idempotencyKey,
  StoreUnavailableError,
  SystemDatabaseError,
  SystemDatabaseLockedError,
  systemDatabaseFor,
  TimestepError,
} from '../src/index.js';
import { ensureLaunched } from '../src/durable/config.js';
import { leaseSettings, newExecutorId } from '../src/durable/lease.js';
import { ConfigurationError } from '../src/errors.js';

test('persisted workflow and step names are the same strings as Python', () => {
  assert.equal(durableNames.SEGMENT_WORKFLOW, 'timestep.segment');
  assert.equal(durableNames.MODEL_STEP, 'timestep.model.get_response');
  assert.equal(durableNames.MODEL_STREAM_STEP, 'timestep.model.stream_response');
  assert.equal(durableNames.DECISIONS_STEP, 'timestep.approvals.read');
  assert.equal(durableNames.SAVE_STEP, 'timestep.state.save');
  assert.equal(durableNames.FORK_BASE_STEP, 'timestep.fork.base');
  assert.equal(durableNames.toolStep('refund'), 'timestep.tool:refund');
  assert.equal(durableNames.handoffStep('transfer_to_support'), 'timestep.handoff:transfer_to_support');
  assert.equal(durableNames.segmentId('ticket-42', 3), 'ticket-42@3');
  assert.equal(durableNames.mcpStep('add'), 'timestep.mcp:add');
  assert.equal(durableNames.mcpListStep('counter'), 'timestep.mcp.list:counter');
  assert.equal(durableNames.MCP_IDEMPOTENCY_META_KEY, 'timestep/idempotency-key');
});

test('executor leases: settings validated as Python, a unique executor id per process', async () => {
  const saved = [process.env.TIMESTEP_EXECUTOR_HEARTBEAT, process.env.TIMESTEP_EXECUTOR_LEASE, process.env.TIMESTEP_TS_DBOS_URL];
  delete process.env.TIMESTEP_TS_DBOS_URL;
  try {
    delete process.env.TIMESTEP_EXECUTOR_HEARTBEAT;
    delete process.env.TIMESTEP_EXECUTOR_LEASE;
    assert.deepEqual(leaseSettings(), { heartbeat: 5, lease: 20 });
    process.env.TIMESTEP_EXECUTOR_HEARTBEAT = '0.5';
    process.env.TIMESTEP_EXECUTOR_LEASE = '1.5';
    assert.deepEqual(leaseSettings(), { heartbeat: 0.5, lease: 1.5 });
    assert.deepEqual(leaseSettings({ lease: 3 }), { heartbeat: 0.5, lease: 3 });
    process.env.TIMESTEP_EXECUTOR_LEASE = 'soon';
    assert.throws(() => leaseSettings(), (e: unknown) => e instanceof ConfigurationError && /TIMESTEP_EXECUTOR_LEASE/.test(e.message));
    for (const text of ['0x10', 'Infinity', '1_0', '1e400']) {
      process.env.TIMESTEP_EXECUTOR_LEASE = text; // Number() reads some of these; Python's reader refuses all
      assert.throws(() => leaseSettings(), (e: unknown) => e instanceof ConfigurationError && /must be a number of seconds/.test(e.message));
    }
    assert.throws(() => leaseSettings({ heartbeat: 5, lease: 6 }), (e: unknown) => e instanceof ConfigurationError && /at least twice the heartbeat/.test(e.message));
    assert.throws(() => leaseSettings({ heartbeat: 0, lease: 6 }), (e: unknown) => e instanceof ConfigurationError && /positive/.test(e.message));
    // on Postgres a bad setting fails the launch before anything connects
    process.env.TIMESTEP_EXECUTOR_HEARTBEAT = '2';
    process.env.TIMESTEP_EXECUTOR_LEASE = '3';
    await assert.rejects(
      ensureLaunched('postgresql://u:p@127.0.0.1:1/none'),
      (e: unknown) => e instanceof ConfigurationError && /at least twice the heartbeat/.test(e.message),
    );
  } finally {
    const names = ['TIMESTEP_EXECUTOR_HEARTBEAT', 'TIMESTEP_EXECUTOR_LEASE', 'TIMESTEP_TS_DBOS_URL'] as const;
    for (const [i, name] of names.entries()) {
      const value = saved[i];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const id = newExecutorId();
  assert.match(id, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${process.pid}-[0-9a-f]{6}$`));
  assert.notEqual(newExecutorId(), id);
});

test('idempotency keys outside a run use the same formula as Python', () => {
  const expected = createHash('sha256').update(':call_1').digest('hex');
  assert.equal(idempotencyKey('call_1'), expected);
  assert.equal(idempotencyKey({ toolCall: { callId: 'call_1' } }), expected);
});

test('the system database: PGlite beside a SQLite or file store, the store itself on Postgres', () => {
  const saved = process.env.TIMESTEP_TS_DBOS_URL;
  delete process.env.TIMESTEP_TS_DBOS_URL;
  try {
    assert.deepEqual(systemDatabaseFor('sqlite:////data/app/timestep.db'), {
      kind: 'pglite',
      dir: '/data/app/timestep.dbos.pglite',
    });
    assert.deepEqual(systemDatabaseFor('/data/state.json'), { kind: 'pglite', dir: '/data/state.dbos.pglite' });
    assert.deepEqual(systemDatabaseFor('postgresql+psycopg://u:p@h:5/db'), {
      kind: 'postgres',
      url: 'postgresql://u:p@h:5/db',
    });
    assert.throws(() => systemDatabaseFor('sqlite:///:memory:'), /file-backed store/);
  } finally {
    if (saved !== undefined) process.env.TIMESTEP_TS_DBOS_URL = saved;
  }
});

function withDir(): { dir: string; store: string } {
  const root = mkdtempSync(join(tmpdir(), 'timestep-durable-'));
  return { dir: join(root, 'runs.dbos.pglite'), store: `sqlite:///${join(root, 'runs.db')}` };
}

function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'ascii');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19] ?? '0';
}

test('a PGlite directory held by another live process is a typed error, at once', async () => {
  const { dir, store } = withDir();
  const other = spawn('sleep', ['60']);
  try {
    writeFileSync(`${dir}.lock`, `${other.pid} ${startTicks(other.pid!)}`);
    const started = Date.now();
    await assert.rejects(ensureLaunched(store), (error: unknown) => {
      assert.ok(error instanceof SystemDatabaseLockedError);
      assert.ok(error instanceof SystemDatabaseError && error instanceof StoreUnavailableError);
      assert.ok(error instanceof TimestepError);
      assert.match(error.message, new RegExp(`in use by process ${other.pid}`));
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    assert.ok(existsSync(`${dir}.lock`), "the other process's lock is left alone");
  } finally {
    other.kill('SIGKILL');
  }
});

test('a directory that is not a PGlite data directory is a typed error (lock of a dead process taken over)', async () => {
  const { dir, store } = withDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'not a database');
  writeFileSync(`${dir}.lock`, '999999999 0'); // left by a process that died
  await assert.rejects(ensureLaunched(store), (error: unknown) => {
    assert.ok(error instanceof SystemDatabaseError && !(error instanceof SystemDatabaseLockedError));
    assert.match(error.message, /is not a PGlite data directory/);
    return true;
  });
  assert.ok(!existsSync(`${dir}.lock`), 'the lock is released after the failure');
});

test('a corrupt PGlite data directory is a typed error naming the directory, not a hang', async () => {
  const { dir, store } = withDir();
  mkdirSync(join(dir, 'global'), { recursive: true });
  writeFileSync(join(dir, 'PG_VERSION'), '17\n');
  writeFileSync(join(dir, 'global', 'pg_control'), 'garbage');
  const started = Date.now();
  await assert.rejects(ensureLaunched(store), (error: unknown) => {
    assert.ok(error instanceof SystemDatabaseError && !(error instanceof SystemDatabaseLockedError));
    assert.match(error.message, /cannot open the embedded DBOS system database/);
    assert.ok(error.message.includes(dir));
    return true;
  });
  assert.ok(Date.now() - started < 60_000);
  assert.ok(!existsSync(`${dir}.lock`));
});

test('the timestep-ts worker command names its usage and exits 2 without an agents module', async () => {
  const cli = new URL('../src/durable/cli.js', import.meta.url);
  const child = spawn(process.execPath, [cli.pathname, 'worker'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(code, 2);
  assert.match(stderr, /ConfigurationError: usage: timestep-ts worker --agents/);
});
