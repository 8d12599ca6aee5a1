/**
 * A TypeScript worker without agents, for tests/durable/test_workers_view.py: it keeps its
 * heartbeat row on a Postgres system database until SIGTERM (a clean stop deletes the row).
 *
 *   node lease-driver.js <store> <executor id>
 */
import { shutdownDurable, worker } from '../src/durable/index.js';
import { RunStateStore } from '../src/store/index.js';

async function main(): Promise<void> {
  const [storeUrl, executorId] = process.argv.slice(2);
  if (!storeUrl || !executorId) throw new Error('usage: lease-driver <store> <executor id>');
  const store = new RunStateStore(storeUrl);
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort());
  const running = worker([], { store, executorId, signal: controller.signal, pollIntervalMs: 200 });
  process.stdout.write('started\n');
  await running;
  await shutdownDurable();
  await store.close();
  process.stdout.write('stopped\n');
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
