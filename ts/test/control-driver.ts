/**
 * A Node process for the cross-language run-control tests (tests/durable/test_durable_ts_control.py):
 *
 *   node control-driver.js slow    <store> <run id>            a durable run whose tool waits (60 s, or
 *                                                               until $TIMESTEP_TEST_RELEASE exists);
 *                                                               prints a line when the tool started,
 *                                                               then the outcome (`RunCancelledError`)
 *   node control-driver.js charge  <store> <run id>            a durable run: one tool call, then text
 *   node control-driver.js cancel  <store> <run id> [by]       cancelRun
 *   node control-driver.js fork    <store> <run id> <new id> <step>   forkRun (prints the error)
 *   node control-driver.js steps   <store> <run id>            recordedSteps
 *   node control-driver.js enqueue <store> <run id>            prepareSystemDatabase + enqueueRun
 *   node control-driver.js worker  <store> <run id>            a worker until the run is done
 *
 * Every stdout line is a JSON object; errors are printed as `{ "error": <class>, "message": ... }`
 * (exit 0), so the test compares them with Python's. Every real model call and `charge` call
 * appends a line to $TIMESTEP_TEST_LOG when set: `<run id> model <tool results seen>`,
 * `<run id> tool charge`.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { Agent, setTracingDisabled, tool, Usage } from '@openai/agents';
import type { Model, ModelProvider, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { z } from 'zod';
import {
  cancelRun,
  enqueueRun,
  forkRun,
  prepareSystemDatabase,
  recordedSteps,
  RunStateStore,
  runDurable,
  shutdownDurable,
  systemDatabaseUrl,
  worker,
} from '../src/index.js';

setTracingDisabled(true);

const [action = '', storeUrl = '', runId = '', ...extra] = process.argv.slice(2);
const say = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const log = (runOf: string | undefined, line: string): void => {
  if (process.env.TIMESTEP_TEST_LOG) appendFileSync(process.env.TIMESTEP_TEST_LOG, `${runOf ?? '?'} ${line}\n`);
};
/** The run a call belongs to (its segment's workflow id, `<run id>@<version>`). */
const currentRun = (): string | undefined => DBOS.workflowID?.replace(/@\d+$/, '');

const call = (name: string, args: unknown, callId: string) => ({
  type: 'function_call' as const,
  name,
  callId,
  status: 'completed' as const,
  arguments: JSON.stringify(args),
});

class ScriptModel implements Model {
  constructor(private readonly toolName: string) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = Array.isArray(request.input) ? request.input : [];
    const results = items.filter((i) => (i as { type?: string }).type === 'function_call_result').length;
    log(currentRun(), `model ${results}`);
    const output =
      results === 0
        ? [call(this.toolName, this.toolName === 'slow' ? { ms: 60_000 } : {}, 'call_1')]
        : [
            {
              type: 'message' as const,
              role: 'assistant' as const,
              status: 'completed' as const,
              content: [{ type: 'output_text' as const, text: `done after ${results}` }],
            },
          ];
    return { output, usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }) };
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<StreamEvent> {
    throw new Error('not streamed');
  }
}

const slow = tool({
  name: 'slow',
  description: 'Wait a while.',
  parameters: z.object({ ms: z.number() }),
  execute: async ({ ms }) => {
    say({ tool: 'slow' });
    // waits `ms`, or until the file $TIMESTEP_TEST_RELEASE exists (the test creates it once it
    // cancelled the run, so the cancelled segment stops at its next step without the full wait)
    const release = process.env.TIMESTEP_TEST_RELEASE;
    const end = Date.now() + ms;
    while (Date.now() < end && !(release && existsSync(release))) {
      await new Promise((done) => setTimeout(done, 100));
    }
    return 'waited';
  },
});
const charge = tool({
  name: 'charge',
  description: 'Charge.',
  parameters: z.object({}),
  execute: async () => {
    log(currentRun(), 'tool charge');
    return 'charged';
  },
});
const provider: ModelProvider = { getModel: (name) => new ScriptModel(name ?? 'charge') };
const AGENTS = {
  sleeper: new Agent({ name: 'sleeper', model: 'slow', tools: [slow] }),
  charger: new Agent({ name: 'charger', model: 'charge', tools: [charge] }),
};

function described(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { error: error.constructor.name, message: error.message } : { error: String(error) };
}

async function main(): Promise<void> {
  const store = new RunStateStore(storeUrl);
  try {
    if (action === 'slow' || action === 'charge') {
      const agent = action === 'slow' ? AGENTS.sleeper : AGENTS.charger;
      const result = await runDurable(agent, 'go', { runId, store, modelProvider: provider });
      say({ finalOutput: result.finalOutput ?? null });
    } else if (action === 'cancel') {
      say({ stopped: await cancelRun(runId, { store, ...(extra[0] ? { by: extra[0] } : {}) }) });
    } else if (action === 'fork') {
      say({ workflowId: await forkRun(runId, extra[0]!, { fromStep: Number(extra[1]), store }) });
    } else if (action === 'steps') {
      say({ steps: await recordedSteps(runId, { store }) });
    } else if (action === 'enqueue') {
      const prepared = await prepareSystemDatabase(store);
      await enqueueRun('charger', 'go', { runId, store });
      say({ prepared, url: systemDatabaseUrl(store.url) });
    } else if (action === 'worker') {
      const stop = new AbortController();
      const running = worker(Object.values(AGENTS), { store, modelProvider: provider, signal: stop.signal, pollIntervalMs: 100 });
      const deadline = Date.now() + 120_000;
      for (;;) {
        const row = (await store.listRuns()).find((r) => r.runId === runId);
        if (row && ['done', 'failed', 'cancelled'].includes(row.status)) break;
        if (Date.now() > deadline) throw new Error(`run ${runId} did not finish`);
        await new Promise((done) => setTimeout(done, 100));
      }
      stop.abort();
      await running;
      say({ status: (await store.run(runId)).status });
    } else {
      throw new Error(`unknown action ${action}`);
    }
  } catch (error) {
    say(described(error));
  }
  await shutdownDurable();
  await store.close();
  process.exit(0);
}

void main();
