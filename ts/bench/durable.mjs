// Durable TypeScript runs: per-step overhead against the stock JS SDK and DBOS TS alone.
//
//   npm --prefix ts run build
//   node ts/bench/durable.mjs --store sqlite:///tmp/bench.db [--runs 15]   (embedded PGlite)
//   node ts/bench/durable.mjs --store postgresql://... [--runs 15]
//
// Workload as bench/bench_durable.py: 5 tool-call turns = 11 model+tool calls per run, instant scripted
// model. One process alternates a stock run (the SDK's Runner, no durability) with a durable run
// (timestep's runDurable) so both see the same load, then times DBOS alone doing 11 empty steps.
// Prints one Markdown table row per line (median ms/run and overhead per step).
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Agent, Runner, setTracingDisabled, tool, Usage } from '@openai/agents';
import { z } from 'zod';
import { RunStateStore, runDurable, shutdownDurable } from '../dist/index.js';
import { ensureLaunched } from '../dist/durable/config.js';

setTracingDisabled(true);
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const STORE = option('store', 'sqlite:///bench-ts.db');
const RUNS = Number(option('runs', '15'));
const TURNS = 5;
const STEPS = 2 * TURNS + 1;

const lookup = tool({
  name: 'lookup',
  description: 'Look up.',
  parameters: z.object({ n: z.number() }),
  execute: async ({ n }) => `item ${n}`,
});

const model = {
  async getResponse(request) {
    const items = Array.isArray(request.input) ? request.input : [];
    const done = items.filter((i) => i.type === 'function_call_result').length;
    const output =
      done < TURNS
        ? [{ type: 'function_call', name: 'lookup', callId: `c${done}`, status: 'completed', arguments: JSON.stringify({ n: done }) }]
        : [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }];
    return { output, usage: new Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }) };
  },
  async *getStreamedResponse() {
    throw new Error('not streamed');
  },
};
const provider = { getModel: () => model };
const agent = new Agent({ name: 'bench', instructions: 'Bench.', tools: [lookup] });

const empty = DBOS.registerWorkflow(
  async () => {
    for (let i = 0; i < STEPS; i += 1) await DBOS.runStep(async () => i, { name: 'empty' });
  },
  { name: 'bench.empty_steps' },
);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const store = new RunStateStore(STORE);
await ensureLaunched(STORE);
const stock = new Runner({ modelProvider: provider });
const tag = `${Date.now()}`;
const base = [];
const durable = [];
for (let i = -1; i < RUNS; i += 1) {
  let t = performance.now();
  await stock.run(agent, 'go', { maxTurns: 20 });
  const b = performance.now() - t;
  t = performance.now();
  await runDurable(agent, 'go', { runId: `bench-${tag}-${i}`, store, modelProvider: provider, maxTurns: 20 });
  const d = performance.now() - t;
  if (i >= 0) {
    base.push(b);
    durable.push(d);
  }
}
const emptyRuns = [];
for (let i = -1; i < RUNS; i += 1) {
  const t = performance.now();
  await (await DBOS.startWorkflow(empty, { workflowID: `bench-empty-${tag}-${i}` })()).getResult();
  if (i >= 0) emptyRuns.push(performance.now() - t);
}
const where = STORE.startsWith('postgres') ? 'Postgres' : 'PGlite (embedded)';
const overhead = median(durable.map((d, i) => (d - base[i]) / STEPS));
console.log(`| DBOS TS 5.3 alone: ${STEPS} empty steps | ${where} | 0.0 | ${median(emptyRuns).toFixed(1)} | - | ${(median(emptyRuns) / STEPS).toFixed(2)} |`);
console.log(
  `| timestep TS durable (${STEPS} steps/run) | ${where} | ${median(base).toFixed(1)} | ${median(durable).toFixed(1)} | ` +
    `${(median(durable) / median(base)).toFixed(2)}x | ${overhead.toFixed(2)} |`,
);
await shutdownDurable();
await store.close();
process.exit(0);
