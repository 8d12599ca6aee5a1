/**
 * The ledger hashes in tests/vectors/fingerprints.json (computed by the Python SDK's own functions)
 * are reproduced by the TypeScript port, and the JS fingerprints equal what the real JS SDK binds
 * to an approval.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent, Runner, tool } from '@openai/agents';
import { ScriptedModel, functionCall } from '@openai/agents-core/testing';
import {
  bareStateKey,
  functionCallFingerprint,
  pythonFingerprint,
  pythonScope,
} from '../src/translate/index.js';
import { VECTORS } from './generate-vectors.js';

interface Case {
  arguments: string;
  python_fingerprint: string;
  js_fingerprint: string;
}
const vector = JSON.parse(readFileSync(join(VECTORS, 'fingerprints.json'), 'utf8')) as {
  python_scope: string;
  cases: Case[];
};

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

describe('ledger fingerprints', () => {
  it('computes the Python approval scope', () => {
    assert.equal(pythonScope('refund', null), vector.python_scope);
  });

  for (const entry of vector.cases) {
    it(`matches both SDKs for ${JSON.stringify(entry.arguments)}`, async () => {
      assert.equal(pythonFingerprint(vector.python_scope, entry.arguments), entry.python_fingerprint);
      assert.equal(functionCallFingerprint(bareStateKey('refund'), entry.arguments), entry.js_fingerprint);
      if (!isJsonObject(entry.arguments)) return;
      const refund = tool({
        name: 'refund',
        description: 'Refund.',
        parameters: { type: 'object', properties: {}, required: [], additionalProperties: true },
        strict: false,
        needsApproval: true,
        execute: async () => 'ok',
      });
      const model = new ScriptedModel([[functionCall('refund', entry.arguments, { callId: 'c1' })]]);
      const agent = new Agent({ name: 'support', model, tools: [refund] });
      const result = await new Runner({ tracingDisabled: true }).run(agent, 'go');
      result.state.approve(result.interruptions[0]!);
      const json = result.state.toJSON() as unknown as {
        context: { approvalInvocations: Array<{ invocations: Record<string, string> }> };
      };
      assert.equal(json.context.approvalInvocations[0]!.invocations.c1, entry.js_fingerprint);
    });
  }
});
