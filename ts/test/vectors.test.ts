/**
 * Every shared vector, in the JS runtime: the TypeScript translator reproduces the expected
 * translations exactly, and the stock JS SDK loads (and resumes) Python states translated to JS.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunState, Runner, type Agent } from '@openai/agents';
import {
  itemsToPython,
  itemsToTypeScript,
  toPython,
  toTypeScript,
  detectLanguage,
  UnsupportedSchemaVersionError,
  UnsupportedStateFeatureError,
  type Json,
} from '../src/index.js';
import { VECTORS } from './generate-vectors.js';
import {
  refundExecutions,
  scripted,
  structuredAgent,
  supportAgent,
  text,
  triageAgent,
} from './fixtures.js';

const read = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;
const shapes = readdirSync(VECTORS).filter((name) => existsSync(join(VECTORS, name, 'python.json')));

function agentFor(shape: string, finalText = 'ok'): Agent {
  if (shape === 'handoff') return triageAgent(scripted(), scripted([text(finalText)]));
  if (shape === 'structured_output') return structuredAgent(scripted()) as unknown as Agent;
  return supportAgent(scripted([text(finalText)]), { guarded: shape === 'input_guardrail' });
}

describe('shared vectors', () => {
  it('has the shapes the issue asks for', () => {
    for (const shape of [
      'single_approval',
      'multiple_approvals',
      'approved',
      'rejected_with_message',
      'always_approve',
      'always_reject',
      'handoff',
      'usage_details',
      'reasoning',
      'streamed',
      'conversation_id',
      'input_guardrail',
      'structured_output',
    ]) {
      assert.ok(shapes.includes(shape), `missing vector ${shape}`);
    }
  });

  for (const shape of shapes) {
    describe(shape, () => {
      const python = read(join(VECTORS, shape, 'python.json'));
      const typescript = read(join(VECTORS, shape, 'typescript.json'));

      it('detects the writer of each file', () => {
        assert.equal(detectLanguage(python), 'python');
        assert.equal(detectLanguage(typescript), 'typescript');
      });

      it('translates Python -> JS exactly like the Python translator', () => {
        assert.deepEqual(toTypeScript(python), read(join(VECTORS, shape, 'python.to_typescript.json')));
      });

      it('translates JS -> Python exactly like the Python translator', () => {
        assert.deepEqual(toPython(typescript), read(join(VECTORS, shape, 'typescript.to_python.json')));
      });

      it('the JS SDK loads the translated Python state with the same interruptions', async () => {
        const translated = toTypeScript(python);
        const state = await RunState.fromString(agentFor(shape), JSON.stringify(translated));
        const native = await RunState.fromString(agentFor(shape), JSON.stringify(typescript));
        const ids = (s: typeof state) =>
          s.getInterruptions().map((i) => (i.rawItem as { callId?: string }).callId);
        assert.deepEqual(ids(state), ids(native));
        assert.equal(state.currentAgent.name, native.currentAgent.name);
        assert.deepEqual(state.usage.inputTokensDetails, native.usage.inputTokensDetails);
        assert.equal(state.usage.inputTokens, native.usage.inputTokens);
      });

      if (!['completed', 'structured_output', 'conversation_id'].includes(shape)) {
        it('the JS SDK resumes the translated Python state to a final answer', async () => {
          const translated = toTypeScript(python);
          const agent = agentFor(shape, 'finished');
          const state = await RunState.fromString(agent, JSON.stringify(translated));
          for (const item of state.getInterruptions()) state.approve(item);
          const result = await new Runner({ tracingDisabled: true }).run(agent, state);
          assert.equal(result.interruptions.length, 0);
          assert.equal(result.finalOutput, 'finished');
        });
      }
    });
  }

  const decided: Record<string, [string[], string[] | null]> = {
    approved: [['42/5'], ['refunded 42 5']],
    always_approve: [['42/5'], ['refunded 42 5']],
    rejected_with_message: [[], ['Refunds need a manager.']],
    mixed_decisions: [['42/5'], ['refunded 42 5', 'Too much.']],
    always_reject: [[], null], // the default rejection text differs per SDK
  };
  for (const [shape, [executions, outputs]] of Object.entries(decided)) {
    it(`honours the Python decisions of ${shape} without deciding again`, async () => {
      refundExecutions.length = 0;
      const agent = supportAgent(scripted([text('after the decisions')]));
      const python = read(join(VECTORS, shape, 'python.json'));
      const state = await RunState.fromString(agent, JSON.stringify(toTypeScript(python)));
      const result = await new Runner({ tracingDisabled: true }).run(agent, state);
      assert.equal(result.interruptions.length, 0);
      assert.equal(result.finalOutput, 'after the decisions');
      assert.deepEqual(refundExecutions, executions);
      const produced = result.newItems
        .filter((i) => i.type === 'tool_call_output_item')
        .map((i) => (i as unknown as { output: unknown }).output);
      if (outputs === null) {
        assert.equal(produced.length, 1);
        assert.doesNotMatch(String(produced[0]), /refunded/);
      } else {
        assert.deepEqual(produced, outputs);
      }
    });
  }

  it('feeds conversation items written by Python to a JS run', async () => {
    const python = read(join(VECTORS, 'completed', 'python.json'));
    const history: unknown[] = [{ role: 'user', content: python.original_input }];
    for (const item of python.generated_items as Json[]) history.push(item.raw_item);
    const jsItems = itemsToTypeScript(history);
    const model = scripted([text('continued in JS')]);
    const result = await new Runner({ tracingDisabled: true }).run(
      supportAgent(model),
      [...(jsItems as never[]), { role: 'user', content: 'thanks' } as never],
    );
    assert.equal(result.finalOutput, 'continued in JS');
    const sent = model.calls[0]!.request.input as Json[];
    assert.ok(sent.some((i) => i.type === 'function_call_result' && i.callId === 'call_1' && i.name === 'refund'));
    const back = itemsToPython(jsItems);
    assert.deepEqual(
      back.map((i) => [i.type, i.call_id]),
      history.map((i) => [(i as Json).type, (i as Json).call_id]),
    );
  });

  it('rejects unknown schema versions with a typed error naming the version', () => {
    const python = read(join(VECTORS, 'single_approval', 'python.json'));
    assert.throws(() => toTypeScript({ ...python, $schemaVersion: '9.9' }), (error: unknown) => {
      assert.ok(error instanceof UnsupportedSchemaVersionError);
      assert.match((error as Error).message, /9\.9/);
      return true;
    });
  });

  it('rejects unsupported shapes with a typed error naming the feature', () => {
    const python = read(join(VECTORS, 'single_approval', 'python.json'));
    const context = { ...(python.context as Json), hosted_mcp_approvals: [{ identity: {} }] };
    assert.throws(() => toTypeScript({ ...python, context }), (error: unknown) => {
      assert.ok(error instanceof UnsupportedStateFeatureError);
      assert.match((error as Error).message, /hosted MCP approvals.*1\.21.*1\.22/);
      return true;
    });
  });
});
