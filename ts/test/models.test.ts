/**
 * OllamaModel / OllamaModelProvider / MultiModelProvider against fake servers on 127.0.0.1:
 * the exact requests sent, the items and events read back, the typed errors, the routing rules,
 * and real JS SDK agent runs (tool call -> tool result -> final text), streamed and not.
 */
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, tool } from '@openai/agents';
import type { ModelProvider, ModelRequest, protocol } from '@openai/agents';
import { z } from 'zod';
import {
  ConfigurationError,
  ModelNotFoundError,
  ModelProviderError,
  ModelServerUnavailableError,
  MultiModelProvider,
  MultiModelProviderMap,
  OllamaModel,
  OllamaModelProvider,
  UnknownModelPrefixError,
  UnsupportedModelInputError,
  cloudApiName,
  consumeResult,
  isCloudModel,
  runAgent,
} from '../src/index.js';
import { FakeOllama, FakeOpenAI } from './fake-servers.js';

const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    systemInstructions: 'Be brief.',
    input: 'Weather in Paris?',
    modelSettings: {},
    tools: [],
    outputType: 'text',
    handoffs: [],
    tracing: false,
    ...overrides,
  };
}

async function collect(stream: AsyncIterable<protocol.StreamEvent>): Promise<protocol.StreamEvent[]> {
  const events: protocol.StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** A port nothing listens on (just released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const savedEnv = { ...process.env };
function restoreEnv(): void {
  for (const key of ['OLLAMA_HOST', 'OLLAMA_API_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
}

describe('OllamaModel', () => {
  const server = new FakeOllama(['qwen-test', 'gpt-oss:20b']);
  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.replies = [];
  });

  it('sends the exact /api/chat body: messages, tools, options, think, format', async () => {
    server.replies.push({ content: '{"city":"Paris"}', promptEvalCount: 12, evalCount: 5 });
    const model = new OllamaModel('gpt-oss:20b', { host: server.url });
    await model.getResponse(
      request({
        modelSettings: {
          temperature: 0.2,
          topP: 0.9,
          frequencyPenalty: 0.1,
          presencePenalty: 0.3,
          maxTokens: 64,
          reasoning: { effort: 'high' },
          providerData: { seed: 7, num_ctx: 4096, keep_alive: '5m' },
        },
        tools: [
          {
            type: 'function',
            name: 'get_weather',
            description: 'Weather for a city.',
            parameters: weatherSchema as never,
            strict: true,
          },
        ],
        handoffs: [
          {
            toolName: 'transfer_to_expert',
            toolDescription: 'Hand off.',
            inputJsonSchema: { type: 'object', properties: {}, required: [], additionalProperties: false },
            strictJsonSchema: true,
          },
        ],
        outputType: {
          type: 'json_schema',
          name: 'out',
          strict: true,
          schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
        },
      }),
    );
    assert.equal(server.requests.length, 1);
    const sent = server.requests[0]!;
    assert.equal(sent.path, '/api/chat');
    assert.equal(sent.headers.authorization, undefined);
    assert.deepEqual(sent.body, {
      model: 'gpt-oss:20b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      stream: false,
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather for a city.', parameters: weatherSchema } },
        {
          type: 'function',
          function: {
            name: 'transfer_to_expert',
            description: 'Hand off.',
            parameters: { type: 'object', properties: {}, required: [], additionalProperties: false },
          },
        },
      ],
      format: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
      think: 'high',
      keep_alive: '5m',
      options: { temperature: 0.2, top_p: 0.9, frequency_penalty: 0.1, presence_penalty: 0.3, num_predict: 64, seed: 7, num_ctx: 4096 },
    });
  });

  it('maps reasoning to think: levels for gpt-oss, true for others, false for none; toolChoice none sends no tools', async () => {
    server.replies.push({ content: 'a' }, { content: 'b' }, { content: 'c' });
    const fn = { type: 'function' as const, name: 't', description: '', parameters: weatherSchema as never, strict: true };
    await new OllamaModel('qwen-test', { host: server.url }).getResponse(
      request({ modelSettings: { reasoning: { effort: 'low' } }, tools: [fn] }),
    );
    await new OllamaModel('gpt-oss:20b', { host: server.url }).getResponse(
      request({ modelSettings: { reasoning: { effort: 'none' }, toolChoice: 'none' }, tools: [fn] }),
    );
    await new OllamaModel('qwen-test', { host: server.url }).getResponse(request({ modelSettings: { reasoning: {} } }));
    assert.equal(server.requests[0]!.body.think, true);
    assert.ok(server.requests[0]!.body.tools);
    assert.equal(server.requests[1]!.body.think, false);
    assert.equal(server.requests[1]!.body.tools, undefined);
    assert.equal(server.requests[2]!.body.think, true);
  });

  it('sends the history: calls in one assistant message, results as role tool, thinking, images', async () => {
    server.replies.push({ content: 'done' });
    await new OllamaModel('qwen-test', { host: server.url }).getResponse(
      request({
        systemInstructions: undefined,
        input: [
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'Compare' },
              { type: 'input_image', image: 'data:image/png;base64,AAAA' },
            ],
          },
          { type: 'reasoning', content: [], rawContent: [{ type: 'reasoning_text', text: 'two cities' }] },
          { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Checking.' }] },
          { type: 'function_call', callId: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
          { type: 'function_call', callId: 'c2', name: 'get_weather', arguments: '{"city":"Rome"}', status: 'completed' },
          { type: 'function_call_result', callId: 'c1', name: 'get_weather', status: 'completed', output: { type: 'text', text: 'sunny' } },
          { type: 'function_call_result', callId: 'c2', name: 'get_weather', status: 'completed', output: 'rainy' },
        ],
      }),
    );
    assert.deepEqual(server.requests[0]!.body.messages, [
      { role: 'user', content: 'Compare', images: ['AAAA'] },
      {
        role: 'assistant',
        content: 'Checking.',
        thinking: 'two cities',
        tool_calls: [
          { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
          { function: { name: 'get_weather', arguments: { city: 'Rome' } } },
        ],
      },
      { role: 'tool', content: 'sunny', tool_name: 'get_weather' },
      { role: 'tool', content: 'rainy', tool_name: 'get_weather' },
    ]);
  });

  it('reads text + several tool calls + thinking from one reply, with usage', async () => {
    server.replies.push({
      thinking: 'hmm',
      content: 'Let me check.',
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Paris' } },
        { name: 'get_weather', arguments: { city: 'Rome' } },
      ],
      promptEvalCount: 30,
      evalCount: 9,
    });
    const response = await new OllamaModel('qwen-test', { host: server.url }).getResponse(request());
    const [reasoning, message, call1, call2, ...rest] = response.output as Record<string, unknown>[];
    assert.equal(rest.length, 0);
    assert.deepEqual(reasoning, { type: 'reasoning', content: [], rawContent: [{ type: 'reasoning_text', text: 'hmm' }] });
    assert.deepEqual(message!.content, [{ type: 'output_text', text: 'Let me check.' }]);
    assert.equal(message!.role, 'assistant');
    assert.equal(call1!.type, 'function_call');
    assert.equal(call1!.arguments, '{"city":"Paris"}');
    assert.equal(call2!.arguments, '{"city":"Rome"}');
    assert.notEqual(call1!.callId, call2!.callId);
    assert.match(String(call1!.callId), /^call_[0-9a-f]{24}$/);
    assert.equal(response.usage.inputTokens, 30);
    assert.equal(response.usage.outputTokens, 9);
    assert.equal(response.usage.totalTokens, 39);
    assert.equal(response.usage.requests, 1);
  });

  it('streams: response_started, text deltas, then response_done with every call and the usage', async () => {
    server.replies.push({
      content: 'Checking two cities.',
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Paris' } },
        { name: 'get_weather', arguments: { city: 'Rome' } },
      ],
      promptEvalCount: 8,
      evalCount: 4,
    });
    const events = await collect(new OllamaModel('qwen-test', { host: server.url }).getStreamedResponse(request()));
    assert.equal(server.requests[0]!.body.stream, true);
    assert.equal(events[0]!.type, 'response_started');
    const deltas = events.filter((e) => e.type === 'output_text_delta').map((e) => (e as { delta: string }).delta);
    assert.deepEqual(deltas, ['Checking ', 'two ', 'cities.']);
    const last = events[events.length - 1]!;
    assert.equal(last.type, 'response_done');
    const done = last as Extract<protocol.StreamEvent, { type: 'response_done' }>;
    assert.deepEqual(
      done.response.output.map((o) => o.type),
      ['message', 'function_call', 'function_call'],
    );
    assert.deepEqual((done.response.output[0] as { content: unknown }).content, [
      { type: 'output_text', text: 'Checking two cities.' },
    ]);
    assert.equal(done.response.usage.inputTokens, 8);
    assert.equal(done.response.usage.outputTokens, 4);
    assert.ok(events.some((e) => e.type === 'model'));
  });

  it('gives typed errors: missing model, HTTP failure, server down, cut and failed streams, hosted tools', async () => {
    const missing = new OllamaModel('nope', { host: server.url });
    await assert.rejects(missing.getResponse(request()), (e: unknown) => {
      assert.ok(e instanceof ModelNotFoundError);
      assert.match((e as Error).message, /model 'nope' not found on http:\/\/127\.0\.0\.1:\d+: run `ollama pull nope`/);
      return true;
    });
    await assert.rejects(collect(missing.getStreamedResponse(request())), ModelNotFoundError);

    server.replies.push({ status: 500, error: 'out of memory' });
    await assert.rejects(new OllamaModel('qwen-test', { host: server.url }).getResponse(request()), (e: unknown) => {
      assert.ok(e instanceof ModelProviderError && !(e instanceof ModelNotFoundError));
      assert.equal((e as ModelProviderError).status, 500);
      assert.match((e as Error).message, /out of memory \(HTTP 500\)/);
      return true;
    });

    const port = await freePort();
    const down = new OllamaModel('qwen-test', { host: `http://127.0.0.1:${port}` });
    await assert.rejects(down.getResponse(request()), (e: unknown) => {
      assert.ok(e instanceof ModelServerUnavailableError);
      assert.match((e as Error).message, new RegExp(`no Ollama server at http://127\\.0\\.0\\.1:${port} \\(model 'qwen-test'\\)`));
      return true;
    });
    const advice = down.getRetryAdvice({ request: request(), error: new ModelServerUnavailableError('x'), stream: false, attempt: 1 });
    assert.equal(advice?.suggested, true);

    server.replies.push({ content: 'half an answer', truncate: true });
    await assert.rejects(
      collect(new OllamaModel('qwen-test', { host: server.url }).getStreamedResponse(request())),
      /ended the stream for model 'qwen-test' before its final chunk/,
    );
    server.replies.push({ content: 'partial answer', midStreamError: 'model crashed' });
    await assert.rejects(
      collect(new OllamaModel('qwen-test', { host: server.url }).getStreamedResponse(request())),
      /failed mid-stream for model 'qwen-test': model crashed/,
    );

    await assert.rejects(
      new OllamaModel('qwen-test', { host: server.url }).getResponse(
        request({ tools: [{ type: 'hosted_tool', name: 'web_search' } as never] }),
      ),
      UnsupportedModelInputError,
    );
    await assert.rejects(
      new OllamaModel('qwen-test', { host: server.url }).getResponse(
        request({ input: [{ role: 'user', content: [{ type: 'input_image', image: 'https://x/y.png' }] }] }),
      ),
      UnsupportedModelInputError,
    );
  });
});

describe('OllamaModelProvider and MultiModelProvider routing', () => {
  after(restoreEnv);
  beforeEach(restoreEnv);

  it('knows cloud tags', () => {
    assert.equal(isCloudModel('gpt-oss:120b-cloud'), true);
    assert.equal(isCloudModel('glm-4.6:cloud'), true);
    assert.equal(isCloudModel('qwen2.5'), false);
    assert.equal(isCloudModel('me/cloud-model:7b'), false);
    assert.equal(cloudApiName('gpt-oss:120b-cloud'), 'gpt-oss:120b');
    assert.equal(cloudApiName('glm-4.6:cloud'), 'glm-4.6');
    assert.equal(cloudApiName('qwen2.5'), 'qwen2.5');
  });

  it('picks the host per model: local by default, cloud tags to Ollama Cloud only with a key', () => {
    delete process.env.OLLAMA_API_KEY;
    process.env.OLLAMA_HOST = 'http://10.0.0.5:11434';
    const provider = new OllamaModelProvider();
    assert.equal(provider.getModel('qwen2.5').host, 'http://10.0.0.5:11434');
    const noKey = provider.getModel('gpt-oss:120b-cloud');
    assert.equal(noKey.host, 'http://10.0.0.5:11434');
    assert.equal(noKey.model, 'gpt-oss:120b-cloud');
    process.env.OLLAMA_API_KEY = 'k-123';
    const cloud = provider.getModel('gpt-oss:120b-cloud');
    assert.equal(cloud.host, 'https://ollama.com');
    assert.equal(cloud.model, 'gpt-oss:120b');
    assert.equal(provider.getModel('qwen2.5').host, 'http://10.0.0.5:11434'); // still local
    delete process.env.OLLAMA_HOST;
    assert.equal(new OllamaModelProvider().getModel('qwen2.5').host, 'http://localhost:11434');
    delete process.env.OLLAMA_API_KEY;
    assert.throws(() => new OllamaModelProvider({ cloud: true }).getModel('gpt-oss:120b'), ConfigurationError);
    assert.throws(() => new OllamaModelProvider().getModel(''), ConfigurationError);
  });

  it('sends the key to the cloud host only', async () => {
    const local = await new FakeOllama().start();
    const cloud = await new FakeOllama().start();
    try {
      local.replies.push({ content: 'local' });
      cloud.replies.push({ content: 'cloud' }, { content: 'cloud again' });
      const provider = new OllamaModelProvider({ host: local.url, cloudHost: cloud.url, apiKey: 'sk-cloud' });
      await provider.getModel('qwen2.5').getResponse(request());
      await provider.getModel('gpt-oss:120b-cloud').getResponse(request());
      await new OllamaModelProvider({ cloudHost: cloud.url, apiKey: 'sk-cloud', cloud: true })
        .getModel('glm-4.6')
        .getResponse(request());
      assert.equal(local.requests[0]!.headers.authorization, undefined);
      assert.equal(local.requests[0]!.body.model, 'qwen2.5');
      assert.equal(cloud.requests[0]!.headers.authorization, 'Bearer sk-cloud');
      assert.equal(cloud.requests[0]!.body.model, 'gpt-oss:120b');
      assert.equal(cloud.requests[1]!.body.model, 'glm-4.6');
    } finally {
      await local.stop();
      await cloud.stop();
    }
  });

  it('routes prefixes: ollama/, ollama-cloud/, user map entries (which win), unknown -> typed error', async () => {
    class Echo implements ModelProvider {
      names: (string | undefined)[] = [];
      getModel(name?: string) {
        this.names.push(name);
        return new OllamaModel(name ?? '', { host: 'http://127.0.0.1:9' });
      }
    }
    const acme = new Echo();
    const mine = new Echo();
    const map = new MultiModelProviderMap();
    map.addProvider('acme', acme);
    const provider = new MultiModelProvider({
      providerMap: map,
      ollamaHost: 'http://127.0.0.1:7777',
      ollamaApiKey: 'k',
      ollamaCloudHost: 'http://127.0.0.1:8888',
    });
    const local = (await provider.getModel('ollama/qwen2.5')) as OllamaModel;
    assert.ok(local instanceof OllamaModel);
    assert.equal(local.model, 'qwen2.5');
    assert.equal(local.host, 'http://127.0.0.1:7777');
    const tagged = (await provider.getModel('ollama/gpt-oss:120b-cloud')) as OllamaModel;
    assert.equal(tagged.host, 'http://127.0.0.1:8888');
    assert.equal(tagged.model, 'gpt-oss:120b');
    const cloud = (await provider.getModel('ollama-cloud/glm-4.6')) as OllamaModel;
    assert.equal(cloud.host, 'http://127.0.0.1:8888');
    assert.equal(cloud.model, 'glm-4.6');
    await provider.getModel('acme/model-x');
    assert.deepEqual(acme.names, ['model-x']);
    map.addProvider('ollama', mine); // added later: still counts, and wins over the built-in route
    await provider.getModel('ollama/qwen2.5');
    assert.deepEqual(mine.names, ['qwen2.5']);
    assert.deepEqual(provider.knownPrefixes, ['acme', 'ollama', 'ollama-cloud', 'openai']);
    await assert.rejects(provider.getModel('mistral/large'), (e: unknown) => {
      assert.ok(e instanceof UnknownModelPrefixError);
      assert.ok(e instanceof ConfigurationError);
      assert.match((e as Error).message, /unknown model prefix 'mistral' in 'mistral\/large'; known prefixes: acme\/, ollama\/, ollama-cloud\/, openai\//);
      return true;
    });
    map.removeProvider('acme');
    await assert.rejects(provider.getModel('acme/model-x'), UnknownModelPrefixError);
  });

  it('sends plain and openai/ names to OpenAI, configured by args, else OPENAI_API_KEY / OPENAI_BASE_URL', async () => {
    const openai = await new FakeOpenAI().start();
    try {
      openai.replies.push({ content: 'from args', promptEvalCount: 3, evalCount: 2 }, { content: 'from env' });
      const byArgs = new MultiModelProvider({
        openaiApiKey: 'sk-args',
        openaiBaseURL: `${openai.url}/v1`,
        openaiUseResponses: false,
      });
      const agent = new Agent({ name: 'a', instructions: 'Be brief.', model: 'openai/gpt-test' });
      const result = await runAgent(agent, 'hi', { modelProvider: byArgs });
      assert.equal(result.finalOutput, 'from args');
      assert.equal(openai.requests[0]!.path, '/v1/chat/completions');
      assert.equal(openai.requests[0]!.headers.authorization, 'Bearer sk-args');
      assert.equal(openai.requests[0]!.body.model, 'gpt-test');
      assert.equal(result.state.usage.inputTokens, 3);

      process.env.OPENAI_API_KEY = 'sk-env';
      process.env.OPENAI_BASE_URL = `${openai.url}/v1`;
      const byEnv = new MultiModelProvider({ openaiUseResponses: false });
      const plain = new Agent({ name: 'a', instructions: 'Be brief.', model: 'gpt-plain' });
      assert.equal((await runAgent(plain, 'hi', { modelProvider: byEnv })).finalOutput, 'from env');
      assert.equal(openai.requests[1]!.headers.authorization, 'Bearer sk-env');
      assert.equal(openai.requests[1]!.body.model, 'gpt-plain');
    } finally {
      await openai.stop();
    }
  });
});

describe('a JS SDK agent on Ollama through runAgent (default MultiModelProvider)', () => {
  const server = new FakeOllama(['qwen-test']);
  const lookups: string[] = [];
  const lookup = tool({
    name: 'lookup',
    description: 'Look up an order.',
    parameters: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => {
      lookups.push(order_id);
      return `order ${order_id}: paid`;
    },
  });
  const agent = new Agent({ name: 'support', instructions: 'Help.', model: 'ollama/qwen-test', tools: [lookup] });

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    restoreEnv();
  });
  beforeEach(() => {
    process.env.OLLAMA_HOST = server.url;
    server.requests.length = 0;
    lookups.length = 0;
    server.replies = [
      {
        content: 'Looking both up.',
        toolCalls: [
          { name: 'lookup', arguments: { order_id: '42' } },
          { name: 'lookup', arguments: { order_id: '43' } },
        ],
        promptEvalCount: 20,
        evalCount: 6,
      },
      { content: 'Both orders are paid.', promptEvalCount: 40, evalCount: 5 },
    ];
  });

  function checkSecondRequest(): void {
    assert.equal(server.requests.length, 2);
    const messages = server.requests[1]!.body.messages as Record<string, unknown>[];
    assert.deepEqual(messages.slice(0, 2), [
      { role: 'system', content: 'Help.' },
      { role: 'user', content: 'Orders 42 and 43?' },
    ]);
    assert.deepEqual(messages[2], {
      role: 'assistant',
      content: 'Looking both up.',
      tool_calls: [
        { function: { name: 'lookup', arguments: { order_id: '42' } } },
        { function: { name: 'lookup', arguments: { order_id: '43' } } },
      ],
    });
    assert.deepEqual(messages.slice(3), [
      { role: 'tool', content: 'order 42: paid', tool_name: 'lookup' },
      { role: 'tool', content: 'order 43: paid', tool_name: 'lookup' },
    ]);
    assert.deepEqual(
      (server.requests[0]!.body.tools as { function: { name: string } }[]).map((t) => t.function.name),
      ['lookup'],
    );
  }

  it('runs tool calls -> tool results -> final text', async () => {
    const result = await runAgent(agent, 'Orders 42 and 43?');
    assert.equal(result.finalOutput, 'Both orders are paid.');
    assert.deepEqual(lookups, ['42', '43']);
    checkSecondRequest();
    assert.equal(result.state.usage.inputTokens, 60);
    assert.equal(result.state.usage.outputTokens, 11);
  });

  it('sends structured output as format and agent settings as options / think', async () => {
    server.replies = [{ content: '{"order_id":"42","paid":true}' }];
    const structured = new Agent({
      name: 'support',
      instructions: 'Answer in JSON.',
      model: 'ollama/qwen-test',
      outputType: z.object({ order_id: z.string(), paid: z.boolean() }),
      modelSettings: { temperature: 0, maxTokens: 32, reasoning: { effort: 'medium' } },
    });
    const result = await runAgent(structured, 'Order 42?');
    assert.deepEqual(result.finalOutput, { order_id: '42', paid: true });
    const body = server.requests[0]!.body;
    assert.deepEqual(body.options, { temperature: 0, num_predict: 32 });
    assert.equal(body.think, true);
    const format = body.format as { type: string; properties: Record<string, unknown>; required: string[] };
    assert.equal(format.type, 'object');
    assert.deepEqual(Object.keys(format.properties), ['order_id', 'paid']);
    assert.deepEqual(format.required, ['order_id', 'paid']);
  });

  it('runs the same, streamed', async () => {
    const result = await runAgent(agent, 'Orders 42 and 43?', { stream: true });
    const deltas: string[] = [];
    const streamed = result as unknown as AsyncIterable<{ type: string; data?: { type: string; delta?: string } }>;
    for await (const event of streamed) {
      if (event.type === 'raw_model_stream_event' && event.data?.type === 'output_text_delta') {
        deltas.push(event.data.delta ?? '');
      }
    }
    await consumeResult(result);
    assert.equal(result.finalOutput, 'Both orders are paid.');
    assert.equal(deltas.join(''), 'Looking both up.Both orders are paid.');
    assert.deepEqual(lookups, ['42', '43']);
    checkSecondRequest();
  });
});
