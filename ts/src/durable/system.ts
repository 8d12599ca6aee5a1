/**
 * Control access to the DBOS system database of durable TypeScript runs, from any process: the
 * segments of a run (both languages' on a shared Postgres), their recorded steps, cancel, fork,
 * enqueue. The twin of Python's `RUNTIME.client(...)` / `prepare_system_database`.
 *
 * In a process that launched DBOS on the store's system database the launched instance answers.
 * Elsewhere a DBOS client connects: to the Postgres URL, or to the embedded PGlite directory,
 * opened for the call (one process at a time: held by a live worker, it is a
 * `SystemDatabaseLockedError`). A PGlite directory that does not exist yet holds no segments and
 * is not created for a read.
 */
import { existsSync, readdirSync } from 'node:fs';
import { DBOS, DBOSClient } from '@dbos-inc/dbos-sdk';
import type { WorkflowStatus } from '@dbos-inc/dbos-sdk';
import type { StepInfo } from '@dbos-inc/dbos-sdk/internal/workflow';
import { ensureSystemDatabase } from '@dbos-inc/dbos-sdk/internal/system_database';
import { SystemDatabaseError, TimestepError } from '../errors.js';
import { displayUrl, type RunStateStore } from '../store/index.js';
import {
  APPLICATION_NAME,
  APPLICATION_VERSION,
  launchedOn,
  openEmbedded,
  plainPostgresUrl,
  QUEUE_NAME,
  SERIALIZER,
  systemDatabaseFor,
  type Embedded,
} from './config.js';
import * as names from './names.js';
import type { SegmentSpec } from './segment.js';
import { logDatabaseUrl } from './streamLog.js';

/** DBOS application names of timestep's segments: Python's and TypeScript's. */
export const APPLICATION_NAMES = ['timestep', APPLICATION_NAME];

const quiet = {
  info: () => undefined,
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The DBOS system database of durable TypeScript runs on `storeUrl`: a `postgresql://` URL, or
 * the absolute path of the embedded PGlite directory (the twin of Python's `system_database_url`).
 */
export function systemDatabaseUrl(storeUrl: string): string {
  const db = systemDatabaseFor(storeUrl);
  return db.kind === 'postgres' ? db.url : db.dir;
}

/**
 * Whether Python's and TypeScript's segments of runs on `storeUrl` share one system database (a
 * Postgres store): then either language sees, cancels and reads the other's segments.
 */
export function sharesSystemDatabase(storeUrl: string): boolean {
  const mine = systemDatabaseFor(storeUrl);
  const python = logDatabaseUrl(storeUrl);
  return mine.kind === 'postgres' && /^postgres/.test(python) && plainPostgresUrl(python) === mine.url;
}

/** The language whose segment a DBOS workflow is. */
export function segmentLanguage(status: WorkflowStatus): 'python' | 'typescript' {
  if (status.applicationName !== undefined) return status.applicationName === APPLICATION_NAME ? 'typescript' : 'python';
  return status.applicationVersion?.startsWith('timestep-ts') ? 'typescript' : 'python';
}

/** Operations on one system database, open for one control call. */
export interface SystemAccess {
  /** The segments of `runId` (DBOS workflows `<runId>@<version>`) of both languages, by version. */
  segments(runId: string): Promise<WorkflowStatus[]>;
  steps(workflowId: string): Promise<StepInfo[]>;
  cancel(workflowId: string): Promise<void>;
  fork(workflowId: string, startStep: number, newWorkflowId: string): Promise<string>;
  enqueue(runId: string, version: number, spec: SegmentSpec): Promise<void>;
  /** Delete a workflow's records (a segment that could not load its state, before its retry). */
  remove(workflowId: string): Promise<void>;
}

function missingTables(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '42P01' || code === '3F000'; // undefined table, undefined schema
}

const byVersion = (found: WorkflowStatus[]): WorkflowStatus[] =>
  found
    .filter((s) => /@\d+$/.test(s.workflowID))
    .sort((a, b) => Number(a.workflowID.split('@').pop()) - Number(b.workflowID.split('@').pop()));

function launchedAccess(): SystemAccess {
  return {
    segments: async (runId) =>
      byVersion(
        await DBOS.listWorkflows({ workflow_id_prefix: `${runId}@`, applicationName: APPLICATION_NAMES, loadInput: false, loadOutput: false }),
      ),
    steps: async (id) => (await DBOS.listWorkflowSteps(id)) ?? [],
    cancel: (id) => DBOS.cancelWorkflow(id),
    remove: (id) => DBOS.deleteWorkflow(id),
    fork: async (id, step, newId) =>
      (await DBOS.forkWorkflow(id, step, { newWorkflowID: newId, applicationVersion: APPLICATION_VERSION, queueName: QUEUE_NAME }))
        .workflowID,
    enqueue: async (runId, version, spec) => {
      const { segmentWorkflow } = await import('./segment.js');
      await DBOS.startWorkflow(segmentWorkflow, { workflowID: names.segmentId(runId, version), queueName: QUEUE_NAME })(
        runId,
        version,
        spec,
      );
    },
  };
}

function clientAccess(client: DBOSClient, tables: { ready: boolean }): SystemAccess {
  return {
    segments: async (runId) => {
      if (!tables.ready) return [];
      try {
        return byVersion(
          await client.listWorkflows({ workflow_id_prefix: `${runId}@`, applicationName: APPLICATION_NAMES, loadInput: false, loadOutput: false }),
        );
      } catch (error) {
        if (missingTables(error)) return [];
        throw error;
      }
    },
    steps: async (id) => (tables.ready ? ((await client.listWorkflowSteps(id)) ?? []) : []),
    cancel: (id) => client.cancelWorkflow(id),
    remove: async (id) => {
      if (tables.ready) await client.deleteWorkflow(id);
    },
    fork: (id, step, newId) =>
      client.forkWorkflow(id, step, { newWorkflowID: newId, applicationVersion: APPLICATION_VERSION, queueName: QUEUE_NAME }),
    enqueue: async (runId, version, spec) => {
      await client.enqueue(
        {
          queueName: QUEUE_NAME,
          workflowName: names.SEGMENT_WORKFLOW,
          workflowID: names.segmentId(runId, version),
          appVersion: APPLICATION_VERSION,
        },
        runId,
        version,
        spec,
      );
    },
  };
}

async function migrate(url: string, embedded: boolean, shown: string): Promise<void> {
  try {
    await ensureSystemDatabase(url, quiet as never, undefined, 'dbos', !embedded);
  } catch (error) {
    throw new SystemDatabaseError(
      `cannot create DBOS's tables in ${shown}: ${String(error)}; run prepareSystemDatabase as a ` +
        'database user allowed to create tables (and the schema `dbos` on Postgres)',
      { cause: error },
    );
  }
}

/**
 * Run `body` with access to the system database of `store`'s durable TypeScript runs. `create`:
 * create or migrate DBOS's tables first (the embedded PGlite directory too), for writes.
 */
export async function withSystem<T>(
  store: RunStateStore,
  body: (access: SystemAccess) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  if (launchedOn(store.target)) return body(launchedAccess());
  const db = systemDatabaseFor(store.target); // the full URL: a password is needed to connect
  let embedded: Embedded | undefined;
  if (db.kind === 'pglite') {
    const fresh = !existsSync(db.dir) || readdirSync(db.dir).length === 0;
    if (fresh && !options.create) return body(clientAccess(undefined as never, { ready: false }));
    embedded = await openEmbedded(db.dir);
  }
  const url = embedded ? embedded.url : (db as { url: string }).url;
  const shown = embedded ? (db as { dir: string }).dir : displayUrl(url);
  let client: DBOSClient | undefined;
  try {
    if (options.create) await migrate(url, embedded !== undefined, shown);
    client = await DBOSClient.create({
      systemDatabaseUrl: url,
      applicationName: APPLICATION_NAME,
      serializer: SERIALIZER,
      ...(embedded ? { systemDatabasePoolSize: 1 } : {}),
    });
    return await body(clientAccess(client, { ready: true }));
  } catch (error) {
    if (error instanceof TimestepError) throw error;
    if ((error as { code?: string } | null)?.code === 'ECONNREFUSED') {
      throw new SystemDatabaseError(`cannot reach the DBOS system database ${shown}: ${String(error)}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    await client?.destroy();
    await embedded?.close();
  }
}

/**
 * Create or migrate DBOS's tables for durable TypeScript runs on `store` (the embedded PGlite
 * directory beside a SQLite or file store, or schema `dbos` of a Postgres store). Returns the
 * system database (Postgres URL with its password hidden, or the PGlite directory). Workers do
 * this on launch; run it in a deploy step so `enqueueRun` and control calls work before any
 * worker started. The twin of Python's `prepare_system_database`.
 */
export async function prepareSystemDatabase(store: RunStateStore): Promise<string> {
  const db = systemDatabaseFor(store.target);
  await withSystem(store, async () => undefined, { create: true });
  return db.kind === 'postgres' ? displayUrl(db.url) : db.dir;
}
