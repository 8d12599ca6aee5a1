/**
 * A Node process running a durable TypeScript run whose agent calls a real MCP server over stdio
 * (tests/harness/mcp_counter.py, run with $TIMESTEP_PYTHON), for tests/durable/test_durable_ts_mcp.py.
 *
 *   node mcp-driver.js start   <store> <run id>   run the agent (a call of `add`, then text)
 *   node mcp-driver.js recover <store> <run id>   launch a worker (DBOS recovers), wait for the run
 *
 * The model is a deterministic script keyed by how many tool results the request holds; every
 * real model call appends `model <n>` to $TIMESTEP_TEST_LOG (the MCP server logs its own
 * executions to $TIMESTEP_MCP_LOG). Crash points ($TIMESTEP_TEST_CRASH, each fires once): `tool`
 * (after the MCP server ran the call, before the step's checkpoint) and `model:1` (in the model
 * call after the checkpointed MCP call). The last stdout line is a JSON object of facts, with the
 * segment's recorded steps (`[name, output]`).
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Agent, MCPServerStdio, setTracingDisabled, Usage } from '@openai/agents';
import type { Model, ModelProvider, ModelRequest, ModelResponse, StreamEvent } from '@openai/agents';
import { RunStateStore } from '../src/store/index.js';
import { consumeResult } from '../src/run.js';
import { runDurable, shutdownDurable as shutdown, worker } from '../src/durable/index.js';

setTracingDisabled(true);

const [action = '', storeUrl = '', runId = ''] = process.argv.slice(2);
const LOG = process.env.TIMESTEP_TEST_LOG ?? '/dev/null';
const log = (line: string): void => appendFileSync(LOG, `${line}\n`);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function crashOnce(point: string): void {
  if (process.env.TIMESTEP_TEST_CRASH !== point) return;
  const marker = `${LOG}.${point.replace(':', '_')}.crashed`;
  if (existsSync(marker)) return;
  writeFileSync(marker, 'x');
  process.kill(process.pid, 'SIGKILL');
}

/** The test MCP server; `callTool` returns after the server executed the call. */
class CounterServer extends MCPServerStdio {
  override async callTool(...args: Parameters<MCPServerStdio['callTool']>): ReturnType<MCPServerStdio['callTool']> {
    const result = await super.callTool(...args);
    crashOnce('tool');
    return result;
  }
}

const server = new CounterServer({
  name: 'counter',
  clientSessionTimeoutSeconds: 120, // the Python server starts slowly on a loaded machine
  timeout: 120_000,
  command: process.env.TIMESTEP_PYTHON ?? 'python3',
  args: [join(REPO, 'tests', 'harness', 'mcp_counter.py')],
  env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
});

/** A tool call of `add` first, then text naming the tool output. */
class ScriptModel implements Model {
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = Array.isArray(request.input) ? request.input : [];
    const results = items.filter((i) => (i as { type?: string }).type === 'function_call_result');
    if (results.length > 0) crashOnce('model:1');
    log(`model ${results.length}`);
    const tools = (request.tools ?? []).map((t) => (t as { name?: string }).name);
    log(`tools ${tools.join(',')}`);
    const output =
      results.length === 0
        ? [
            {
              type: 'function_call' as const,
              name: 'add',
              callId: 'call_mcp',
              status: 'completed' as const,
              arguments: JSON.stringify({ a: 2, b: 3 }),
            },
          ]
        : [
            {
              type: 'message' as const,
              role: 'assistant' as const,
              status: 'completed' as const,
              content: [{ type: 'output_text' as const, text: `sum: ${JSON.stringify(results[0])}` }],
            },
          ];
    return { output, usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }) };
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<StreamEvent> {
    throw new Error('not streamed');
  }
}

const provider: ModelProvider = { getModel: () => new ScriptModel() };
const agent = new Agent({ name: 'mcp-user', instructions: 'Add.', mcpServers: [server] });

async function waitFor(store: RunStateStore, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await store.listRuns()).find((r) => r.runId === runId);
    // done, and its segment's workflow has returned (the save is its last step)
    if (row && ['done', 'failed'].includes(row.status)) {
      const pending = await DBOS.listWorkflows({ workflow_id_prefix: `${runId}@`, status: 'PENDING' });
      if (pending.length === 0) return;
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const store = new RunStateStore(storeUrl);
  await server.connect();
  let out: Record<string, unknown> = {};
  if (action === 'start') {
    const result = await consumeResult(await runDurable(agent, 'Add 2 and 3', { runId, store, modelProvider: provider }));
    out = { finalOutput: result.finalOutput ?? null };
  } else if (action === 'recover') {
    const controller = new AbortController();
    const running = worker([agent], { store, modelProvider: provider, signal: controller.signal, pollIntervalMs: 200 });
    await waitFor(store);
    const outcome = (await DBOS.retrieveWorkflow(`${runId}@0`).getResult()) as { final_output?: string | null };
    out = { finalOutput: outcome.final_output ?? null };
    controller.abort();
    await running;
  } else {
    throw new Error(`unknown action ${action}`);
  }
  const steps = (await DBOS.listWorkflowSteps(`${runId}@0`)) ?? [];
  const row = (await store.listRuns()).find((r) => r.runId === runId);
  out = { ...out, status: row?.status ?? null, steps: steps.map((s) => [s.name, s.output]) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await server.close();
  await shutdown();
  await store.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}\n`);
  process.exit(1);
});
