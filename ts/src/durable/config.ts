/**
 * DBOS configuration for durable TypeScript runs: where the system database lives, and a lazy,
 * once-per-process launch.
 *
 * A Postgres store keeps DBOS's tables in the same database (schema `dbos`), shared with Python's
 * workers: TypeScript uses its own DBOS application name, application version and queue
 * (`timestep-ts`), so neither language recovers or dequeues the other's segments. There each
 * process has its own executor id and a lease that live workers take over (lease.ts). A SQLite or file
 * store gets an embedded Postgres (PGlite) in a directory beside it (`timestep.db` ->
 * `timestep.dbos.pglite/`), served to DBOS over a loopback socket with ONE connection (PGlite has a
 * single session; more connections interleave statements). One process at a time may open it: a
 * lock file beside the directory names the owner. PGlite runs with `fsync=off`: it survives a
 * killed process, not a power loss. `$TIMESTEP_TS_DBOS_URL` (a `postgresql://` URL or a directory)
 * overrides both.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { ConfigurationError, SystemDatabaseError, SystemDatabaseLockedError } from '../errors.js';
import type { Lease } from './lease.js';

/** DBOS application name of timestep's TypeScript workflows (Python's is `timestep`). */
export const APPLICATION_NAME = 'timestep-ts';
/** DBOS application version of the TypeScript segment workflow (changes with its step sequence). */
export const APPLICATION_VERSION = 'timestep-ts-durable-1';
/** The DBOS queue TypeScript workers drain. */
export const QUEUE_NAME = 'timestep-ts';
/** Name of the JSON serializer, the same as Python's, so Python can read TS step outputs. */
export const SERIALIZER_NAME = 'timestep_json';
/** DBOS's serializer for timestep's steps: JSON, under the name Python's DBOS reads too. */
export const SERIALIZER = {
  name: () => SERIALIZER_NAME,
  stringify: (value: unknown) => JSON.stringify(value === undefined ? null : value),
  parse: (text: string) => JSON.parse(text) as unknown,
};

export type SystemDatabase = { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string };

const POSTGRES = /^postgres(ql)?(\+\w+)?:\/\//;

/** The system database that belongs to a store target (see the module docstring). */
export function systemDatabaseFor(storeUrl: string): SystemDatabase {
  const override = process.env.TIMESTEP_TS_DBOS_URL;
  if (override) {
    return POSTGRES.test(override)
      ? { kind: 'postgres', url: plainPostgresUrl(override) }
      : { kind: 'pglite', dir: resolve(override) };
  }
  if (POSTGRES.test(storeUrl)) return { kind: 'postgres', url: plainPostgresUrl(storeUrl) };
  let path = storeUrl;
  if (storeUrl.startsWith('sqlite:')) {
    path = storeUrl.replace(/^sqlite:\/\/\/?/, '');
    if (path === '' || path === ':memory:') {
      throw new ConfigurationError(
        'durable runs need a file-backed store; an in-memory SQLite store cannot hold their state',
      );
    }
  }
  const full = resolve(path);
  const stem = full.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
  return { kind: 'pglite', dir: join(dirname(full), `${stem}.dbos.pglite`) };
}

export function plainPostgresUrl(url: string): string {
  return url.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');
}

// ---- the embedded PGlite ------------------------------------------------------------------------

function startTicks(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'ascii');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19] ?? '0';
  } catch {
    return '0';
  }
}

function alive(pid: number, ticks: string): boolean {
  if (ticks !== '0' && existsSync('/proc')) return startTicks(pid) === ticks;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `<dir>.lock` for this process, or throw SystemDatabaseLockedError naming the owner. */
function lockDirectory(dir: string): () => void {
  const path = `${dir}.lock`;
  const mine = `${process.pid} ${startTicks(process.pid)}`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, mine);
      closeSync(fd);
      const release = (): void => {
        try {
          if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SystemDatabaseError(`cannot create the lock file ${path}: ${String(error)}`, {
          cause: error,
        });
      }
      const [pidText, ticks] = readFileSync(path, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && alive(pid, ticks ?? '0')) {
        throw new SystemDatabaseLockedError(
          `the embedded DBOS system database ${dir} is in use by process ${pid} (lock ${path}); ` +
            'one process at a time can run durable TypeScript runs on a SQLite or file store: ' +
            'stop that process, or use a Postgres store to run several workers',
        );
      }
      unlinkSync(path); // left by a process that died
    }
  }
  throw new SystemDatabaseLockedError(`could not take the lock ${path}`);
}

export interface Embedded {
  url: string;
  close(): Promise<void>;
}

/** Open (or create, with progress on stderr) the PGlite directory and serve it on a socket. */
export async function openEmbedded(dir: string): Promise<Embedded> {
  const release = lockDirectory(dir);
  try {
    const fresh = !existsSync(dir) || readdirSync(dir).length === 0;
    if (!fresh && !existsSync(join(dir, 'PG_VERSION'))) {
      throw new SystemDatabaseError(
        `${dir} is not a PGlite data directory (it has no PG_VERSION); move it away or set ` +
          'TIMESTEP_TS_DBOS_URL to another directory',
      );
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const started = Date.now();
    if (fresh) {
      process.stderr.write(
        `timestep: creating the embedded DBOS system database in ${dir} (first use; ~20 s)...\n`,
      );
    }
    let db: InstanceType<typeof PGlite>;
    try {
      db = await PGlite.create(dir);
      await db.query('SELECT 1');
    } catch (error) {
      throw new SystemDatabaseError(
        `cannot open the embedded DBOS system database ${dir}: ${String(error)}; it may be ` +
          'corrupt (move it away to start afresh: durable runs that were in progress are lost)',
        { cause: error },
      );
    }
    if (fresh) {
      process.stderr.write(
        `timestep: embedded DBOS system database ready (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    }
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await server.start();
    // One connection serves every workflow: under many concurrent runs a query may wait longer
    // than DBOS's default 10 s for it, which DBOS reports as a failed connection and retries.
    return {
      url: `postgresql://postgres:postgres@${server.getServerConn()}/postgres?sslmode=disable&connect_timeout=300`,
      close: async () => {
        await server.stop();
        await db.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

// ---- launch -------------------------------------------------------------------------------------

interface Launched {
  key: string;
  worker: boolean;
  embedded: Embedded | undefined;
  /** This process's lease on a Postgres system database (lease.ts). */
  lease: Lease | undefined;
}

let launched: Launched | undefined;
let launching: Promise<Launched> | undefined;

function keyOf(db: SystemDatabase): string {
  return db.kind === 'postgres' ? db.url : `pglite:${db.dir}`;
}

export interface LaunchOptions {
  /** Dequeue segments from the `timestep-ts` queue (workers only). */
  worker?: boolean;
  /** At most this many queued segments at once in this process. */
  concurrency?: number;
  /**
   * DBOS executor id; on Postgres each process gets its own (`<host>-<pid>-<hex>`) unless this or
   * `$DBOS__VMID` names one (a restart with the same id recovers its segments at once).
   */
  executorId?: string;
}

/** Configure and launch DBOS once per process on `storeUrl`'s system database. */
export async function ensureLaunched(storeUrl: string, options: LaunchOptions = {}): Promise<void> {
  const db = systemDatabaseFor(storeUrl);
  const key = keyOf(db);
  const current = launched ?? (launching ? await launching : undefined);
  if (current) {
    if (current.key !== key) {
      throw new ConfigurationError(
        `this process already runs durable workflows on ${current.key}; one process can use ` +
          `one DBOS system database, not also ${key}`,
      );
    }
    if (options.worker && !current.worker) {
      throw new ConfigurationError(
        'durable runs already started in this process without a worker; start the worker ' +
          'before the first durable run',
      );
    }
    return;
  }
  launching = launch(db, key, options);
  try {
    launched = await launching;
  } finally {
    launching = undefined;
  }
}

async function launch(db: SystemDatabase, key: string, options: LaunchOptions): Promise<Launched> {
  await import('./segment.js'); // registers the workflow before launch
  const worker = options.worker ?? false;
  let lease: Lease | undefined;
  let executorId = options.executorId;
  if (db.kind === 'postgres') {
    const { Lease, leaseSettings, newExecutorId } = await import('./lease.js');
    const settings = leaseSettings(); // a bad setting fails before anything starts
    // each process its own id (DBOS's default, `local`, is shared): see lease.ts
    executorId ??= process.env.DBOS__VMID || newExecutorId();
    lease = new Lease(db.url, executorId, settings, worker);
  }
  // the lease comes first, so no segment of this executor exists without one (a fresh database
  // may refuse it until DBOS created its schema: then it is taken out right after the launch)
  const leased = (await lease?.open(false)) ?? false;
  const embedded = db.kind === 'pglite' ? await openEmbedded(db.dir) : undefined;
  const url = embedded ? embedded.url : (db as { url: string }).url;
  try {
    DBOS.setConfig({
      name: APPLICATION_NAME,
      applicationVersion: APPLICATION_VERSION,
      systemDatabaseUrl: url,
      serializer: SERIALIZER,
      logLevel: process.env.TIMESTEP_DBOS_LOG_LEVEL ?? 'warn',
      listenQueues: worker ? [QUEUE_NAME] : [],
      ...(executorId !== undefined ? { executorID: executorId } : {}),
      ...(embedded
        ? { systemDatabasePoolSize: 1, useListenNotify: false, maxConcurrentQueueDispatches: 1 }
        : {}),
    });
    await DBOS.launch();
    await DBOS.registerQueue(QUEUE_NAME, {
      ...(options.concurrency !== undefined ? { workerConcurrency: options.concurrency } : {}),
    });
  } catch (error) {
    await embedded?.close();
    await lease?.stop();
    if (error instanceof ConfigurationError) throw error;
    throw new SystemDatabaseError(`cannot start DBOS on ${key}: ${String(error)}`, { cause: error });
  }
  if (lease && !leased) await lease.open(true);
  lease?.run();
  return { key, worker, embedded, lease };
}

/** Whether this process runs durable work on `storeUrl`'s system database. */
export function launchedOn(storeUrl: string): boolean {
  return launched !== undefined && launched.key === keyOf(systemDatabaseFor(storeUrl));
}

/** Stop DBOS in this process (and close the embedded database, releasing its lock). */
export async function shutdown(): Promise<void> {
  const current = launched;
  if (!current) return;
  launched = undefined;
  await current.lease?.stopTakingOver();
  await DBOS.shutdown(); // the lease is renewed until DBOS stopped running segments
  await current.lease?.stop();
  await (await import('./streamLog.js')).closeStreamLogs();
  await current.embedded?.close();
}
