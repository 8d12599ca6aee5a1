/**
 * webSearch / webSearchTool against local fake services: the same backends, texts and error
 * behaviour as Python's `timestep.tools` (failures reach the model as text, never as a throw).
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, Runner, setTracingDisabled } from '@openai/agents';
import type { FunctionTool } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents-core/testing';
import {
  ConfigurationError,
  DdgsSearch,
  FirecrawlSearch,
  OllamaSearch,
  selectBackend,
  webSearchTool,
  webSearchToolFor,
  type SearchBackend,
} from '../src/index.js';
import { FakeSearch } from './fake-search.js';

setTracingDisabled(true);
const HITS = [
  { title: 'Python', url: 'https://www.python.org/', snippet: 'The official home of Python.' },
  { title: 'PyPI', url: 'https://pypi.org/', snippet: 'The Python Package Index.' },
  { title: 'Lookalike', url: 'https://notpython.org/x', snippet: 'Not it.' },
  { title: 'Docs', url: 'https://docs.python.org/3/', snippet: 'Documentation   for\nPython.' },
];

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function ask(tool: FunctionTool, args: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (await tool.invoke({} as any, args)) as string;
}

describe('webSearchTool', () => {
  const fake = new FakeSearch();
  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.stop();
  });

  it('formats Ollama results exactly as Python does', async () => {
    fake.hits = HITS;
    const tool = webSearchTool(new OllamaSearch({ apiKey: 'test-key', host: fake.url }), {
      searchContextSize: 'low',
    });
    const text = await ask(tool, '{"query": "python"}');
    assert.equal(
      text,
      [
        'Web search results for "python" (3 results, backend: ollama):',
        '',
        '1. Python',
        '   URL: https://www.python.org/',
        '   The official home of Python.',
        '',
        '2. PyPI',
        '   URL: https://pypi.org/',
        '   The Python Package Index.',
        '',
        '3. Lookalike',
        '   URL: https://notpython.org/x',
        '   Not it.',
      ].join('\n'),
    );
    const last = fake.requests.at(-1)!;
    assert.equal(last.path, '/api/web_search');
    assert.deepEqual(JSON.parse(last.body), { query: 'python', max_results: 3 });
    assert.equal(last.authorization, 'Bearer test-key');
  });

  it('filters domains (subdomains in, lookalikes out) and sends them to Firecrawl', async () => {
    fake.hits = HITS;
    const tool = webSearchTool(new FirecrawlSearch({ apiKey: 'test-key', apiUrl: fake.url }), {
      allowedDomains: ['https://python.org/path'],
    });
    const text = await ask(tool, '{"query": "python"}');
    assert.match(text, /^Web search results for "python" within python.org \(2 results, backend: firecrawl\):/);
    assert.match(text, /Documentation for Python\./);
    assert.doesNotMatch(text, /notpython/);
    const body = JSON.parse(fake.requests.at(-1)!.body) as Record<string, unknown>;
    assert.deepEqual(body.includeDomains, ['python.org']);
    assert.equal(body.limit, 5);
    assert.match(tool.description, /Only results from these domains are returned: python.org\./);
  });

  it('scrapes the keyless DuckDuckGo page with site: operators', async () => {
    fake.hits = HITS.slice(0, 2);
    const tool = webSearchTool(new DdgsSearch({ host: fake.url }), {
      allowedDomains: ['python.org', 'pypi.org'],
    });
    const text = await ask(tool, '{"query": "python"}');
    assert.match(text, /\(2 results, backend: ddgs\)/);
    const form = new URLSearchParams(fake.requests.at(-1)!.body);
    assert.equal(form.get('q'), 'python (site:python.org OR site:pypi.org)');
    fake.hits = [];
    assert.equal(await ask(tool, '{"query": "zzqx"}'), 'web_search: no results for "zzqx" within python.org, pypi.org (backend: ddgs).');
  });

  it('returns every failure to the model as text', async () => {
    fake.hits = HITS;
    const wrongKey = webSearchTool(new OllamaSearch({ apiKey: 'bad', host: fake.url }));
    assert.equal(
      await ask(wrongKey, '{"query": "x"}'),
      'web_search failed (ollama): Ollama web search returned 401 (unauthorized) — check OLLAMA_API_KEY',
    );
    fake.status = 402;
    fake.error = 'Insufficient credits';
    const firecrawl = webSearchTool(new FirecrawlSearch({ apiKey: 'test-key', apiUrl: fake.url }));
    assert.equal(
      await ask(firecrawl, '{"query": "x"}'),
      'web_search failed (firecrawl): Firecrawl returned 402 Payment Required — the Firecrawl ' +
        'account is out of credits: Failed to search. Insufficient credits',
    );
    fake.status = 200;
    fake.delayMs = 3000;
    const slow = webSearchTool(new OllamaSearch({ apiKey: 'test-key', host: fake.url }), { timeout: 0.3 });
    assert.equal(
      await ask(slow, '{"query": "x"}'),
      'web_search failed (ollama): Ollama web search timed out after 0.3s',
    );
    fake.delayMs = 0;
    const closed = await closedPort();
    const down = webSearchTool(new OllamaSearch({ apiKey: 'k', host: `http://127.0.0.1:${closed}` }));
    assert.equal(
      await ask(down, '{"query": "x"}'),
      `web_search failed (ollama): could not reach Ollama web search at http://127.0.0.1:${closed}: ECONNREFUSED`,
    );
    const broken: SearchBackend = {
      name: 'broken',
      search: async () => {
        throw new TypeError('boom');
      },
    };
    assert.equal(await ask(webSearchTool(broken), '{"query": "x"}'), 'web_search failed (broken): TypeError: boom');
    const hang: SearchBackend = { name: 'hang', search: () => new Promise(() => undefined) };
    const started = Date.now();
    assert.equal(
      await ask(webSearchTool(hang, { timeout: 0.2 }), '{"query": "x"}'),
      'web_search failed (hang): timed out after 0.2s',
    );
    assert.ok(Date.now() - started < 3000);
    assert.equal(
      await ask(webSearchTool(broken), '{"query": "  "}'),
      "web_search failed: the query is empty; send {'query': 'what to search for'}",
    );
    assert.match(await ask(webSearchTool(broken), 'not json'), /^web_search failed: the arguments are not JSON/);
  });

  it('chooses the backend from the credentials: Ollama, then Firecrawl, then keyless', () => {
    assert.equal(selectBackend({ OLLAMA_API_KEY: 'k', FIRECRAWL_API_KEY: 'f' }).name, 'ollama');
    assert.equal(selectBackend({ FIRECRAWL_API_URL: 'http://x' }).name, 'firecrawl');
    assert.equal(selectBackend({}).name, 'ddgs');
  });

  it('refuses bad options when built, and the hosted tool for non-OpenAI models', () => {
    assert.throws(() => webSearchTool('nope' as 'ddgs'), ConfigurationError);
    assert.throws(() => webSearchTool(undefined, { timeout: 0 }), ConfigurationError);
    assert.throws(() => webSearchTool(undefined, { searchContextSize: 'huge' as 'low' }), ConfigurationError);
    assert.throws(() => webSearchTool(undefined, { allowedDomains: [] }), ConfigurationError);
    const hosted = webSearchTool('openai', { searchContextSize: 'high', allowedDomains: ['python.org'] });
    assert.equal(hosted.type, 'hosted_tool');
    const ollamaAgent = new Agent({ name: 'a', model: 'ollama/qwen2.5' });
    assert.throws(() => webSearchToolFor(ollamaAgent, 'openai'), /needs an OpenAI Responses model/);
    assert.equal(webSearchToolFor(new Agent({ name: 'b', model: 'gpt-4.1' }), 'openai').type, 'hosted_tool');
    assert.equal(webSearchToolFor(ollamaAgent, 'ddgs').type, 'function');
  });

  it('an agent run sees the results (and survives a failing backend)', async () => {
    fake.hits = HITS;
    const tool = webSearchTool(new OllamaSearch({ apiKey: 'test-key', host: fake.url }));
    const model = new ScriptedModel([
      [functionCall('web_search', { query: 'python' }, { callId: 'c1' })],
      [assistantMessage('found it')],
    ]);
    const agent = new Agent({ name: 'searcher', model, tools: [tool] });
    const result = await new Runner({ tracingDisabled: true }).run(agent, 'search');
    assert.equal(result.finalOutput, 'found it');
    const output = result.newItems.find((i) => i.type === 'tool_call_output_item');
    assert.match(JSON.stringify(output?.rawItem), /backend: ollama/);
  });
});
