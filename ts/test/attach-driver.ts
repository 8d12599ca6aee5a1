/**
 * Attaches to a durable run's stream event log from a Node process, for
 * tests/durable/test_attach_stream_ts.py:
 *
 *   node attach-driver.js <store> <run id> [after] [timeout ms]
 *
 * Follows the run with `attachStream` until it ends and prints one JSON line: every event read,
 * the text `StreamText` rebuilt, the abandoned attempts, and the error (name and timestep classes
 * it is an instance of) when reading failed.
 */
import {
  attachStream,
  RunNotFoundError,
  RunNotStreamedError,
  RunStateStore,
  StreamText,
  TimestepError,
  type StreamEvent,
} from '../src/index.js';

const [storeUrl = '', runId = '', after = '0', timeout = ''] = process.argv.slice(2);

async function main(): Promise<void> {
  const store = new RunStateStore(storeUrl);
  const events: StreamEvent[] = [];
  const text = new StreamText();
  const changes: unknown[] = [];
  let error: Record<string, unknown> | null = null;
  try {
    for await (const event of attachStream(runId, {
      store,
      after: Number(after),
      ...(timeout ? { timeoutMs: Number(timeout) } : {}),
    })) {
      events.push(event);
      const change = text.add(event);
      if (change) changes.push(change);
    }
  } catch (caught) {
    const classes = { RunNotFoundError, RunNotStreamedError, TimestepError };
    error = {
      name: caught instanceof Error ? caught.name : String(caught),
      message: caught instanceof Error ? caught.message : String(caught),
      is: Object.entries(classes)
        .filter(([, cls]) => caught instanceof cls)
        .map(([name]) => name),
    };
  }
  process.stdout.write(`${JSON.stringify({ events, text: text.text, abandoned: text.abandoned, changes, error })}\n`);
  await store.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}\n`);
  process.exit(1);
});
