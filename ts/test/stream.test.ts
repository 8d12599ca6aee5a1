/** The durable stream reader (`StreamText`) on the vectors Python's reader runs too. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StreamText, streamText, type StreamEvent } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist-test/test/ -> the repository's tests/vectors/stream/reader.json
const FILE = resolve(here, '..', '..', '..', 'tests', 'vectors', 'stream', 'reader.json');

interface Case {
  name: string;
  events: StreamEvent[];
  text: string;
  changes: Array<[string, string]>;
  abandoned: Array<[string, number, number]>;
}

const cases = (JSON.parse(readFileSync(FILE, 'utf8')) as { cases: Case[] }).cases;

describe('durable stream vectors', () => {
  it('has cases', () => assert.ok(cases.length >= 4));
  for (const c of cases) {
    it(`rebuilds ${c.name}`, () => {
      const text = new StreamText();
      const changes = c.events.map((event) => text.add(event)).filter((change) => change !== null);
      assert.equal(text.text, c.text);
      assert.deepEqual(
        changes.map((change) => [change.kind, change.text]),
        c.changes,
      );
      assert.deepEqual(text.abandoned, c.abandoned);
      assert.equal(streamText(c.events), c.text);
    });
  }
});
