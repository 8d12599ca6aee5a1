/**
 * A Node process running durable TypeScript runs, for the crash and cross-language tests
 * (tests/durable/test_durable_ts.py and test/durable.test.ts kill it with SIGKILL at injected points).
 *
 *   node durable-driver.js start   <store> <run id> [crash point]   run `charge`, or `refund` (approval)
 *   node durable-driver.js recover <store> <run id>                  launch (DBOS recovers), wait for the run
 *   node durable-driver.js approve <store> <run id> [python|typescript|queue|resume]
 *                          ($TIMESTEP_TEST_DECISION: `{"arguments": {...}}` edits the call,
 *                           `{"output": "..."}` answers it instead, `{"reject": "why"}` rejects it;
 *                           `resume`: the decision with `resume: true` and no agent, for a worker)
 *   node durable-driver.js worker  <store> <run id>                  a worker until the run is done
 *   node durable-driver.js fork    <store> <run id> <new id> <step> forkRun from step (a worker runs it)
 *
 * The model is a deterministic script keyed by how many tool results the request holds (so a
 * replayed process asks it the same question). Every real model call and tool call appends a line
 * to $TIMESTEP_TEST_LOG: `model <n>`, `tool <name> <idempotency key>`. Crash points (each fires
 * once, remembered by a marker file beside the log): `tool` (inside the tool, after its side
 * effect, before its checkpoint), `between` (after the tool's checkpoint, before the next model
 * call), `delta` (streamed: two deltas into the final answer, whose retry writes other text),
 * `waiting` (after the run paused for approval: the process then idles until killed),
 * `session` (after the run's new items were committed to its session, before the step's
 * checkpoint), `save` (after the end-of-segment state was committed, before the segment's
 * workflow recorded its end). `start` runs through `runAgent(..., { runId })` (durable by default), with the
 * session `$TIMESTEP_TEST_SESSION` in the store's database when set.
 * With $TIMESTEP_TEST_HOLD=<file> `charge` stays inside its call (after logging it) until that file exists.
 * With $TIMESTEP_TEST_ECHO=1 `refund` logs its arguments (`tool refund <key> <order>/<amount>`)
 * and the model logs the last tool output it was given (`model <n> saw <output>`).
 * The last stdout line is a JSON object of facts.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Agent, setTracingDisabled, tool, Usage } from '@openai/agents';
import type { AgentInputItem, Model, ModelProvider, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import { z } from 'zod';
import { RunStateStore } from '../src/store/index.js';
import { answer, approve, reject } from '../src/decisions.js';
import { consumeResult, runAgent } from '../src/run.js';
import { TimestepSession } from '../src/session.js';
import {
  forkRun,
  idempotencyKey,
  resumeDurable,
  setResumeLanguage,
  shutdownDurable as shutdown,
  worker,
} from '../src/durable/index.js';

setTracingDisabled(true);

const [action = '', storeUrl = '', runId = '', extra = ''] = process.argv.slice(2);
const LOG = process.env.TIMESTEP_TEST_LOG ?? '/dev/null';
const log = (line: string): void => appendFileSync(LOG, `${line}\n`);

function crashOnce(point: string): void {
  if (process.env.TIMESTEP_TEST_CRASH !== point) return;
  const marker = `${LOG}.${point}.crashed`;
  if (existsSync(marker)) return;
  writeFileSync(marker, 'x');
  process.kill(process.pid, 'SIGKILL');
}

// crash point `save`: dies right after a segment's end-of-segment save committed, before its
// workflow recorded its end (the recovered segment must find that version, not write another)
const originalSave = RunStateStore.prototype.save;
RunStateStore.prototype.save = async function save(this: RunStateStore, ...args: Parameters<RunStateStore['save']>) {
  const stored = await originalSave.apply(this, args);
  crashOnce('save');
  return stored;
};

/** The session of a started run: dies (crash point `session`) right after its items are committed. */
class CrashingSession extends TimestepSession {
  override async addItemsOnce(items: AgentInputItem[]): Promise<number> {
    const added = await super.addItemsOnce(items);
    log(`session wrote ${added}`);
    crashOnce('session');
    return added;
  }
}

/** With $TIMESTEP_TEST_HOLD set, `charge` stays inside its call until that file exists. */
async function holdWhile(): Promise<void> {
  const hold = process.env.TIMESTEP_TEST_HOLD;
  if (!hold) return;
  while (!existsSync(hold)) await new Promise((r) => setTimeout(r, 50));
}

const charge = tool({
  name: 'charge',
  description: 'Charge an order.',
  parameters: z.object({ order_id: z.string() }),
  execute: async ({ order_id }, _context, details) => {
    log(`tool charge ${idempotencyKey(details)}`);
    crashOnce('tool');
    await holdWhile();
    return `charged ${order_id}`;
  },
});

const refund = tool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
  needsApproval: true,
  execute: async ({ order_id, amount }, _context, details) => {
    const echo = process.env.TIMESTEP_TEST_ECHO === '1' ? ` ${order_id}/${amount}` : '';
    log(`tool refund ${idempotencyKey(details)}${echo}`);
    return `refunded ${order_id} ${amount}`;
  },
});

function call(name: string, args: unknown, callId: string) {
  return {
    type: 'function_call' as const,
    name,
    callId,
    status: 'completed' as const,
    arguments: JSON.stringify(args),
  };
}

function message(text: string) {
  return {
    type: 'message' as const,
    role: 'assistant' as const,
    status: 'completed' as const,
    content: [{ type: 'output_text' as const, text }],
  };
}

/** Answers by the number of tool results in the request: a tool call first, then text. */
class ScriptModel implements Model {
  constructor(private readonly toolName: string) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = Array.isArray(request.input) ? request.input : [];
    const results = items.filter((i) => (i as { type?: string }).type === 'function_call_result').length;
    if (results > 0) crashOnce('between');
    const last = items.filter((i) => (i as { type?: string }).type === 'function_call_result').at(-1) as
      | { output?: { text?: string } | string }
      | undefined;
    const seen = typeof last?.output === 'string' ? last.output : last?.output?.text;
    log(process.env.TIMESTEP_TEST_ECHO === '1' && last ? `model ${results} saw ${seen}` : `model ${results}`);
    const output =
      results === 0
        ? this.toolName === 'refund'
          ? [call('refund', { order_id: '42', amount: 5 }, 'call_1')]
          : [call('charge', { order_id: '42' }, 'call_1')]
        : [message(`done after ${results} tool result(s)`)];
    return { output, usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }) };
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const response = await this.getResponse(request);
    yield { type: 'response_started' } as StreamEvent;
    const reply = response.output.find((item) => item.type === 'message') as
      | { content: { type: string; text: string }[] }
      | undefined;
    if (reply && reply.content[0]?.type === 'output_text') {
      // crash point `delta`: the first attempt streams other words and dies after two deltas;
      // the retry (marker present) writes different text, as a real model may
      const retried = existsSync(`${LOG}.delta.crashed`);
      const text =
        process.env.TIMESTEP_TEST_CRASH !== 'delta'
          ? reply.content[0]!.text
          : retried
            ? `retried: ${reply.content[0]!.text}`
            : 'an abandoned first attempt that the crash cuts off';
      reply.content[0]!.text = text;
      const words = text.split(/(?= )/);
      for (const [i, word] of words.entries()) {
        yield { type: 'output_text_delta', delta: word } as StreamEvent;
        if (i === 1) crashOnce('delta');
      }
    }
    yield {
      type: 'response_done',
      response: {
        id: 'resp',
        usage: { requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        output: response.output,
      },
    } as unknown as StreamEvent;
  }
}

const provider: ModelProvider = { getModel: () => new ScriptModel(process.env.TIMESTEP_TEST_TOOL ?? 'charge') };
const agentFor = (toolName: string) =>
  new Agent({
    name: toolName === 'refund' ? 'support' : 'biller',
    instructions: 'Help.',
    tools: toolName === 'refund' ? [refund] : [charge],
  });
const AGENTS = [agentFor('charge'), agentFor('refund')];
const agent = AGENTS[(process.env.TIMESTEP_TEST_TOOL ?? 'charge') === 'refund' ? 1 : 0]!;

async function facts(store: RunStateStore): Promise<Record<string, unknown>> {
  const runs = await store.listRuns();
  const row = runs.find((r) => r.runId === runId);
  return {
    status: row?.status ?? null,
    version: row?.latestVersion ?? null,
    language: row?.language ?? null,
    metadata: row?.metadata ?? null,
    pending: row?.pendingApprovals.map((p) => p.callId) ?? [],
    key: idempotencyKey('call_1'),
    executor: DBOS.isInitialized() ? DBOS.executorID : null,
  };
}

async function waitFor(store: RunStateStore, statuses: string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await store.listRuns()).find((r) => r.runId === runId);
    if (row && statuses.includes(row.status)) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not reach ${statuses.join('/')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // and its segment's workflow has returned (the save is its last step)
  for (;;) {
    const pending = await DBOS.listWorkflows({ workflow_id_prefix: `${runId}@`, status: 'PENDING' });
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`run ${runId}'s segment is still PENDING`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const store = new RunStateStore(storeUrl);
  let out: Record<string, unknown> = {};
  if (action === 'start') {
    const stream = process.env.TIMESTEP_TEST_STREAM === '1';
    const sessionId = process.env.TIMESTEP_TEST_SESSION;
    const session = sessionId ? new CrashingSession(sessionId, { db: storeUrl }) : null;
    const result = await consumeResult(
      await runAgent(agent, 'Charge order 42', session, stream, { runId, store, modelProvider: provider }),
    );
    out = { finalOutput: result.finalOutput ?? null, interruptions: result.interruptions.length, stream };
    if (extra === 'waiting' || process.env.TIMESTEP_TEST_CRASH === 'waiting') {
      log('waiting');
      process.stdout.write(`${JSON.stringify({ ...out, ...(await facts(store)) })}\n`);
      await new Promise(() => undefined); // idle until killed
    }
  } else if (action === 'recover') {
    const controller = new AbortController();
    const running = worker(AGENTS, { store, modelProvider: provider, signal: controller.signal, pollIntervalMs: 200 });
    await waitFor(store, ['done', 'waiting', 'failed']);
    // the worker launches DBOS in the background: a run already done (its segment saved before a
    // crash) is found before the launch, so wait for it to retrieve the recovered segment's result
    while (!DBOS.isInitialized()) await new Promise((r) => setTimeout(r, 100));
    const outcome = (await DBOS.retrieveWorkflow(`${runId}@0`).getResult()) as {
      final_output?: string | null;
      version?: number;
    };
    out = { finalOutput: outcome.final_output ?? null, segmentVersion: outcome.version ?? null };
    controller.abort();
    await running;
  } else if (action === 'approve') {
    const how = JSON.parse(process.env.TIMESTEP_TEST_DECISION || '{}') as {
      arguments?: Record<string, unknown>;
      output?: string;
      reject?: string;
    };
    const resume = extra === 'resume'; // no agent in this process: a worker continues the run
    const decided =
      how.output !== undefined
        ? await answer(runId, { store, output: how.output, by: 'ts-user', resume })
        : how.reject !== undefined
          ? await reject(runId, { store, reason: how.reject, by: 'ts-user', resume })
          : await approve(runId, {
              store,
              by: 'ts-user',
              resume,
              ...(how.arguments ? { arguments: how.arguments } : {}),
            });
    if (extra === 'queue') await resumeDurable(runId, { store }); // no agent here: for a worker
    if (extra === 'python' || extra === 'typescript') await setResumeLanguage(runId, extra, { store });
    out = { decided: decided.callId, version: decided.stateVersion, resumed: decided.resumed };
  } else if (action === 'fork') {
    const [newRunId = '', step = ''] = process.argv.slice(5);
    out = { workflowId: await forkRun(runId, newRunId, { fromStep: Number(step), store }) };
  } else if (action === 'worker') {
    const controller = new AbortController();
    const running = worker(AGENTS, { store, modelProvider: provider, signal: controller.signal, pollIntervalMs: 200 });
    await waitFor(store, ['done', 'failed']);
    controller.abort();
    await running;
  } else {
    throw new Error(`unknown action ${action}`);
  }
  process.stdout.write(`${JSON.stringify({ ...out, ...(await facts(store)) })}\n`);
  await shutdown();
  await store.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}\n`);
  process.exit(1);
});
