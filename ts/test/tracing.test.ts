/**
 * OllamaModel records a generation span (model, host, usage) when the run traces, streamed and not,
 * and none when it does not. Spans go to a collecting processor, never to a network exporter.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Agent, Runner, setTraceProcessors, setTracingDisabled } from '@openai/agents';
import type { Span, SpanData, Trace, TracingProcessor } from '@openai/agents';
import { MultiModelProvider, consumeResult, runAgent } from '../src/index.js';
import { FakeOllama } from './fake-servers.js';

const spans: SpanData[] = [];
const collector: TracingProcessor = {
  async onTraceStart(_trace: Trace) {},
  async onTraceEnd(_trace: Trace) {},
  async onSpanStart(_span: Span<SpanData>) {},
  async onSpanEnd(span: Span<SpanData>) {
    spans.push(span.spanData);
  },
  async shutdown() {},
  async forceFlush() {},
};
const server = new FakeOllama(['qwen-test']);

before(async () => {
  await server.start();
  setTraceProcessors([collector]);
  setTracingDisabled(false);
});
after(async () => {
  await server.stop();
  setTracingDisabled(true);
});

it('records one generation span per model call, with usage', async () => {
  const agent = new Agent({ name: 'a', instructions: 'Hi.', model: 'ollama/qwen-test' });
  const runner = new Runner({ modelProvider: new MultiModelProvider({ ollamaHost: server.url }) });
  server.replies = [
    { content: 'one', promptEvalCount: 5, evalCount: 2 },
    { content: 'two', promptEvalCount: 6, evalCount: 3 },
  ];
  await runAgent(agent, 'x', { runner });
  await consumeResult(await runAgent(agent, 'y', { runner, stream: true }));
  const generations = spans.filter((s) => s.type === 'generation') as Array<SpanData & Record<string, unknown>>;
  assert.equal(generations.length, 2);
  for (const [i, span] of generations.entries()) {
    assert.equal(span.model, 'qwen-test');
    assert.equal((span.model_config as { base_url: string }).base_url, server.url);
    assert.deepEqual(span.usage, { input_tokens: 5 + i, output_tokens: 2 + i });
    assert.deepEqual(span.input, [
      { role: 'system', content: 'Hi.' },
      { role: 'user', content: i === 0 ? 'x' : 'y' },
    ]);
  }
  spans.length = 0;
  server.replies = [{ content: 'quiet' }];
  await runAgent(agent, 'z', { runner: new Runner({ tracingDisabled: true, modelProvider: new MultiModelProvider({ ollamaHost: server.url }) }) });
  assert.equal(spans.filter((s) => s.type === 'generation').length, 0);
});
