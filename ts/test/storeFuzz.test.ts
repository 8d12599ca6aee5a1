/**
 * Property test, the twin of Python's tests/state/test_store_fuzz.py: damaged real states never
 * escape a TypeScript store as anything but a `TimestepError`, and reads change nothing.
 *
 * Seeds are the shared cross-language vectors (tests/vectors/<shape>/typescript.json and
 * python.json). A seeded generator (the same examples on every run) flips bits, truncates, edits
 * JSON values (deletes keys, puts in values of other types), damages side columns and drops
 * checksums, writes the result straight into a SQLite row or a JSON file, then calls every read
 * path: each must answer or reject with a `TimestepError`, and the stored bytes stay as they were.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunStateStore, TimestepError, type Json } from '../src/index.js';
import { VECTORS } from './generate-vectors.js';
import { scripted, triageAgent } from './fixtures.js';

const SEEDS = readdirSync(VECTORS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => ['typescript.json', 'python.json'].map((name) => join(VECTORS, entry.name, name)))
  .filter((path) => existsSync(path))
  .sort()
  .map((path) => readFileSync(path, 'utf8'));
const REPLACEMENTS: unknown[] = [null, 0, -1, 2.5, '', 'x', [], {}, true, [1], { a: null }, '\ud800'];
const SIDES = ['{', '[1]', 'null', '[{"call_id": 1}]', '"x"', '{}', '[]', '', 'not json'];
const EXAMPLES = 120;

/** mulberry32: a small seeded generator, so every run damages the same way. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Path = (string | number)[];

function nodes(value: unknown, path: Path = []): Path[] {
  const out: Path[] = [path];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...nodes(item, [...path, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) out.push(...nodes(item, [...path, key]));
  }
  return out;
}

interface Damage {
  body: Buffer;
  keepChecksum: boolean;
  side: string | undefined;
  choice: number;
}

function damage(random: () => number): Damage {
  const text = SEEDS[Math.floor(random() * SEEDS.length)]!;
  const kind = ['flip', 'truncate', 'edit', 'edit', 'none'][Math.floor(random() * 5)]!;
  const choice = Math.floor(random() * 1000);
  const spots = Array.from({ length: 1 + Math.floor(random() * 4) }, () => random());
  let body = Buffer.from(text, 'utf8');
  if (kind === 'flip') {
    for (const spot of spots) {
      const at = Math.floor(spot * body.length);
      body[at] = (body[at] ?? 0) ^ (1 << choice % 8);
    }
  } else if (kind === 'truncate') {
    body = body.subarray(0, Math.floor(spots[0]! * body.length));
  } else if (kind === 'edit') {
    const doc = JSON.parse(text) as Json;
    for (const spot of spots) {
      const all = nodes(doc).slice(1);
      if (all.length === 0) break;
      const path = all[Math.floor(spot * all.length)]!;
      let parent = doc as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      const last = path[path.length - 1]!;
      if (!Array.isArray(parent) && choice % 3 === 0) delete parent[last];
      else parent[last] = structuredClone(REPLACEMENTS[choice % REPLACEMENTS.length]);
    }
    body = Buffer.from(JSON.stringify(doc), 'utf8');
  }
  const side = random() < 0.4 ? SIDES[choice % SIDES.length] : undefined;
  return { body, keepChecksum: random() < 0.5, side, choice };
}

/** What the reads of all examples did: answered, or rejected with a typed error (by class). */
const outcomes = new Map<string, number>();

async function everyRead(store: RunStateStore, runId: string): Promise<void> {
  const agent = triageAgent(scripted([]), scripted([]));
  const reads: Array<() => Promise<unknown>> = [
    () => store.get(runId),
    () => store.get(runId, { version: 1 }),
    () => store.load(runId, agent),
    () => store.versions(runId),
    () => store.listRuns(),
    () => store.listRuns({ status: 'waiting' }),
    () => store.run(runId),
    () => store.decisions(runId),
    () => store.readyToResume(),
    () => store.changeMarker(),
    () => store.countRuns(),
  ];
  for (const [index, read] of reads.entries()) {
    try {
      await read();
      outcomes.set(`${index}:ok`, (outcomes.get(`${index}:ok`) ?? 0) + 1);
    } catch (error) {
      outcomes.set(`${index}:${(error as Error).name}`, (outcomes.get(`${index}:${(error as Error).name}`) ?? 0) + 1);
      if (!(error instanceof TimestepError)) {
        assert.fail(`read ${index} of ${runId} escaped untyped: ${String(error)}`);
      }
    }
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'timestep-fuzz-'));

describe('damaged states reach the caller only as TimestepError (seeded fuzz)', () => {
  it(`SQLite rows (${EXAMPLES} examples)`, async () => {
    const path = join(tmp(), 'fuzz.db');
    const store = new RunStateStore(`sqlite:///${path}`);
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as new (p: string) => {
      prepare(sql: string): { run(...args: unknown[]): unknown; all(...args: unknown[]): unknown[] };
      close(): void;
    };
    const random = generator(16);
    try {
      for (let i = 0; i < EXAMPLES; i += 1) {
        const runId = `fuzz-${i}`;
        const hurt = damage(random);
        await store.saveJson(runId, JSON.parse(SEEDS[i % SEEDS.length]!) as Json);
        const db = new Database(path);
        let text: string | Buffer = hurt.body;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(hurt.body);
        } catch {
          // not UTF-8: stored as a BLOB, as a damaged disk page could leave it
        }
        db.prepare(
          `UPDATE timestep_run_states SET state_json = ?${hurt.keepChecksum ? '' : ', state_sha256 = NULL'} WHERE run_id = ?`,
        ).run(text, runId);
        if (hurt.side !== undefined) {
          const column = ['pending_approvals', 'metadata'][hurt.choice % 2];
          db.prepare(`UPDATE timestep_runs SET ${column} = ? WHERE run_id = ?`).run(hurt.side, runId);
        }
        const snapshot = () =>
          JSON.stringify(
            db
              .prepare('SELECT * FROM timestep_run_states WHERE run_id = ? ORDER BY version')
              .all(runId)
              .map((row) => Object.values(row as object).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v))),
          );
        const before = snapshot();
        await everyRead(store, runId);
        assert.equal(snapshot(), before, `reads of ${runId} changed its rows`);
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  it(`JSON files (${EXAMPLES} examples)`, async () => {
    const directory = tmp();
    const random = generator(61);
    for (let i = 0; i < EXAMPLES; i += 1) {
      const runId = `fuzz-${i}`;
      const file = join(directory, `${runId}.json`);
      const store = new RunStateStore(file, { runId });
      const hurt = damage(random);
      await store.saveJson(runId, JSON.parse(SEEDS[i % SEEDS.length]!) as Json);
      const wrapper = JSON.parse(readFileSync(file, 'utf8')) as { versions: Json[] } & Json;
      const entry = wrapper.versions[wrapper.versions.length - 1]!;
      if (!hurt.keepChecksum) delete entry.sha256;
      let state: unknown;
      try {
        state = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hurt.body));
      } catch {
        state = undefined;
      }
      if (state === undefined) writeFileSync(file, hurt.body); // the whole file is the damaged text
      else {
        entry.state = state;
        if (hurt.side !== undefined && hurt.choice % 4 === 0) {
          const field = ['run_id', 'versions', 'metadata', 'status'][(hurt.choice % 16) >> 2]!;
          try {
            wrapper[field] = JSON.parse(hurt.side) as unknown;
          } catch {
            wrapper[field] = hurt.side;
          }
        }
        writeFileSync(file, JSON.stringify(wrapper));
      }
      const before = readFileSync(file);
      await everyRead(store, runId);
      assert.ok(readFileSync(file).equals(before), `reads of ${runId} changed its file`);
      await store.close();
    }
  });

  it('the damage is real: loads both succeed and fail, with several typed errors', () => {
    const loads = [...outcomes].filter(([key]) => key.startsWith('2:'));
    assert.ok((outcomes.get('2:ok') ?? 0) > 10, `too few loads succeeded: ${JSON.stringify(loads)}`);
    const failures = loads.filter(([key]) => key !== '2:ok');
    assert.ok(failures.length >= 2, `too few kinds of load failure: ${JSON.stringify(loads)}`);
    assert.ok(failures.reduce((n, [, count]) => n + count, 0) > 40, JSON.stringify(loads));
  });
});
