#!/usr/bin/env node
/**
 * `timestep-ts worker --agents ./agents.js [--store URL] [--concurrency N] [--executor-id ID]`:
 * a TypeScript durable worker. The agents module exports `agents` (an array of Agents, or its
 * default export is one) and optionally `modelProvider`; the worker recovers this executor's
 * pending segments, drains the `timestep-ts` queue and resumes decided TypeScript runs until
 * SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent, ModelProvider } from '@openai/agents';
import { ConfigurationError } from '../errors.js';
import { RunStateStore } from '../store/index.js';
import { shutdown } from './config.js';
import { worker } from './api.js';

const USAGE =
  'usage: timestep-ts worker --agents ./agents.js [--store URL] [--concurrency N] [--executor-id ID]';

function parse(argv: string[]): Map<string, string> {
  const [command, ...rest] = argv;
  if (command !== 'worker') throw new ConfigurationError(USAGE);
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i]!;
    const value = rest[i + 1];
    if (!flag.startsWith('--') || value === undefined) throw new ConfigurationError(USAGE);
    options.set(flag.slice(2), value);
  }
  return options;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const modulePath = options.get('agents');
  if (!modulePath) throw new ConfigurationError(USAGE);
  const loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as {
    agents?: Agent[];
    default?: Agent[];
    modelProvider?: ModelProvider;
  };
  const agents = loaded.agents ?? loaded.default;
  if (!Array.isArray(agents) || agents.length === 0) {
    throw new ConfigurationError(`${modulePath} exports no 'agents' array (or default export)`);
  }
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  const store = new RunStateStore(options.get('store') ?? process.env.TIMESTEP_DB);
  const concurrency = options.get('concurrency');
  const executorId = options.get('executor-id');
  process.stderr.write(`timestep-ts worker: ${agents.map((a) => a.name).join(', ')} on ${store.url}\n`);
  await worker(agents, {
    store,
    signal: controller.signal,
    ...(concurrency !== undefined ? { concurrency: Number(concurrency) } : {}),
    ...(executorId !== undefined ? { executorId } : {}),
    ...(loaded.modelProvider ? { modelProvider: loaded.modelProvider } : {}),
  });
  await shutdown();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(error instanceof ConfigurationError ? 2 : 1);
});
