// Durable TypeScript runs beside the stock JS SDK: per-step overhead and concurrent runs.
// Run by bench/bench_durable.py (which puts these figures in the same table as Python's, in the
// same run and on the same databases); by hand after `npm --prefix ts run build`:
//
//   node ts/bench/durable.mjs --mode steps --store sqlite:///tmp/b.db [--runs 15]      (embedded PGlite)
//   node ts/bench/durable.mjs --mode steps --store postgresql://... [--runs 15]
//   node ts/bench/durable.mjs --mode concurrent --variant clone|shared|durable \
//        --concurrent 1000 --latency 0.05 [--store URL]
//   node ts/bench/durable.mjs --mode durable --store URL --runs 50 --profile /tmp/durable.cpuprofile
//   node ts/bench/cpuprof-top.mjs /tmp/durable.cpuprofile        (where the durable run's CPU goes)
//   node ts/bench/durable.mjs --mode statements --store URL --runs 5     (SQL statements per run)
//   node ts/bench/durable.mjs --mode own --store URL --runs 30           (timestep's own cost)
//
// Workload as bench/bench_durable.py: 5 tool-call turns = 11 model+tool calls per run, scripted
// model (instant, or `--latency` seconds per call). `steps` alternates a stock run (the SDK's
// Runner, no durability) with a durable run (timestep's runDurable) so both see the same load,
// then times DBOS TS alone doing 11 empty steps on the same system database. `concurrent` starts
// `--concurrent` runs at once: the stock SDK with one Agent clone per run (`clone`) or one shared
// Agent (`shared`), or timestep durable runs (`durable`). The last line printed is one JSON object.
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
const MODE = option('mode', 'steps');
const STORE = option('store', 'sqlite:///bench-ts.db');
const RUNS = Number(option('runs', '15'));
const CONCURRENT = Number(option('concurrent', '1000'));
const LATENCY_MS = Number(option('latency', MODE === 'concurrent' ? '0.05' : '0')) * 1000;
const VARIANT = option('variant', 'clone');
const TURNS = 5;
const STEPS = 2 * TURNS + 1;

const lookup = tool({
  name: 'lookup',
  description: 'Look up.',
  parameters: z.object({ n: z.number() }),
  execute: async ({ n }) => `item ${n}`,
});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const model = {
  async getResponse(request) {
    if (LATENCY_MS) await sleep(LATENCY_MS);
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
const stock = new Runner({ modelProvider: provider });
const tag = `${Date.now()}`;

function check(result) {
  if (result.finalOutput !== 'done') throw new Error(`unexpected final output ${result.finalOutput}`);
}

async function durableOne(store, runId) {
  check(await runDurable(agent, 'go', { runId, store, modelProvider: provider, maxTurns: 20 }));
}

function emptySteps() {
  return DBOS.registerWorkflow(
    async () => {
      for (let i = 0; i < STEPS; i += 1) await DBOS.runStep(async () => i, { name: 'empty' });
    },
    { name: 'bench.empty_steps' },
  );
}

// One run of DBOS's empty-steps workflow under `workflowID`, to its end.
async function runEmpty(empty, workflowID) {
  await (await DBOS.startWorkflow(empty, { workflowID })()).getResult();
}

// One stock SDK run on its own Agent clone (as Python's SDK advises for concurrent runs).
async function stockClone() {
  check(await stock.run(agent.clone({}), 'go', { maxTurns: 20 }));
}

async function steps() {
  const empty = emptySteps();
  const store = new RunStateStore(STORE);
  await ensureLaunched(STORE);
  const base = [];
  const durable = [];
  for (let i = -3; i < RUNS; i += 1) {
    let t = performance.now();
    check(await stock.run(agent, 'go', { maxTurns: 20 }));
    const b = performance.now() - t;
    t = performance.now();
    await durableOne(store, `bench-${tag}-${i}`);
    const d = performance.now() - t;
    if (i >= 0) {
      base.push(b / 1000);
      durable.push(d / 1000);
    }
  }
  // DBOS alone, paired with 11 plain awaits of the same function (as Python's dbos-steps mode)
  const emptyBase = [];
  const emptyRuns = [];
  for (let i = -3; i < RUNS; i += 1) {
    let t = performance.now();
    for (let s = 0; s < STEPS; s += 1) await (async () => s)();
    const b = performance.now() - t;
    t = performance.now();
    await runEmpty(empty, `bench-empty-${tag}-${i}`);
    if (i >= 0) {
      emptyBase.push(b / 1000);
      emptyRuns.push((performance.now() - t) / 1000);
    }
  }
  await shutdownDurable();
  await store.close();
  return { timestep: { base, durable }, dbos: { base: emptyBase, durable: emptyRuns } };
}

// timestep's own cost, as Python's `own` mode: a stock run (one Agent clone), DBOS TS's workflow
// of 11 empty steps and a timestep durable run, in turn in this process on one database, so
// timestep - stock - DBOS per triple is what timestep adds at that moment.
async function own() {
  const empty = emptySteps();
  const store = new RunStateStore(STORE);
  await ensureLaunched(STORE);
  const named = {
    stock: stockClone,
    dbos: (i) => runEmpty(empty, `own-empty-${tag}-${i}`),
    timestep: (i) => durableOne(store, `own-${tag}-${i}`),
  };
  const out = Object.fromEntries(Object.keys(named).map((name) => [name, []]));
  for (let i = -3; i < RUNS; i += 1) {
    for (const [name, one] of Object.entries(named)) {
      const t = performance.now();
      await one(i);
      if (i >= 0) out[name].push((performance.now() - t) / 1000);
    }
  }
  await shutdownDurable();
  await store.close();
  return out;
}

async function concurrent() {
  let one;
  let store;
  if (VARIANT === 'durable') {
    store = new RunStateStore(STORE);
    await ensureLaunched(STORE);
    one = (i) => durableOne(store, `c-${tag}-${i}`);
  } else if (VARIANT === 'shared') {
    one = async () => check(await stock.run(agent, 'go', { maxTurns: 20 }));
  } else {
    one = stockClone;
  }
  await one('warm');
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => one(i)));
  const wall = (performance.now() - start) / 1000;
  if (store) {
    await shutdownDurable();
    await store.close();
  }
  return { wall, ideal: ((TURNS + 1) * LATENCY_MS) / 1000, runs: CONCURRENT };
}

// Only durable runs, one after another; `--profile FILE` writes a V8 CPU profile of just these
// runs (start-up, migrations and warm-up excluded): summarize it with ts/bench/cpuprof-top.mjs.
async function durableOnly() {
  const store = new RunStateStore(STORE);
  await ensureLaunched(STORE);
  for (let i = -3; i < 0; i += 1) await durableOne(store, `warm-${tag}-${i}`);
  const profile = option('profile', undefined);
  let session;
  if (profile) {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < RUNS; i += 1) await durableOne(store, `p-${tag}-${i}`);
  const perRun = (performance.now() - start) / 1000 / RUNS;
  const used = process.cpuUsage(cpu);
  const cpuPerRun = (used.user + used.system) / 1e6 / RUNS;
  if (session) {
    const { profile: data } = await session.post('Profiler.stop');
    (await import('node:fs')).writeFileSync(profile, JSON.stringify(data));
  }
  await shutdownDurable();
  await store.close();
  return { perRun, cpuPerRun, runs: RUNS };
}

// SQL statements sent to Postgres (DBOS's system database and, on Postgres, the store) per run:
// timestep durable vs DBOS TS alone doing 11 empty steps; each is one round trip (load-independent).
async function statements() {
  const pg = (await import('pg')).default;
  const counts = new Map();
  const original = pg.Client.prototype.query;
  let counting = false;
  pg.Client.prototype.query = function query(config, ...rest) {
    if (counting) {
      const text = typeof config === 'string' ? config : (config?.text ?? '');
      // by first keyword, or by statement text with BENCH_SQL_DETAIL=1 (where the extra ones come from)
      const sql = text.trim().replace(/\s+/g, ' ');
      const word = process.env.BENCH_SQL_DETAIL ? sql.slice(0, 90) : sql.split(' ')[0].toUpperCase() || '?';
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    return original.call(this, config, ...rest);
  };
  const empty = emptySteps();
  const store = new RunStateStore(STORE);
  await ensureLaunched(STORE);
  const measure = async (one) => {
    for (let i = -2; i < 0; i += 1) await one(`w${i}`);
    counts.clear();
    counting = true;
    for (let i = 0; i < RUNS; i += 1) await one(`${i}`);
    counting = false;
    const perRun = Object.fromEntries([...counts].map(([k, v]) => [k, v / RUNS]));
    return { total: [...counts.values()].reduce((a, b) => a + b, 0) / RUNS, perRun };
  };
  const timestep = await measure((i) => durableOne(store, `st-${tag}-${i}`));
  const dbos = await measure((i) => runEmpty(empty, `st-empty-${tag}-${i}`));
  await shutdownDurable();
  await store.close();
  return { timestep, dbos };
}

const modes = { steps, own, concurrent, durable: durableOnly, statements };
if (!modes[MODE]) throw new Error(`unknown --mode ${MODE} (${Object.keys(modes).join(', ')})`);
const result = await modes[MODE]();
console.log(JSON.stringify(result));
process.exit(0);
