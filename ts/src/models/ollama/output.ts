/** Ollama replies as the SDK's output items and usage. */
import { type AgentOutputItem, Usage } from '@openai/agents';
import { randomUUID } from 'node:crypto';
import { argumentsObject } from './request.js';
import { FAKE_ID, type Json, type OllamaChatResponse, type OllamaMessage } from './wire.js';

/** A fresh tool call id (Ollama does not assign one). */
export function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

export function usageOf(reply: OllamaChatResponse): Usage {
  const inputTokens = reply.prompt_eval_count ?? 0;
  const outputTokens = reply.eval_count ?? 0;
  return new Usage({ requests: 1, inputTokens, outputTokens, totalTokens: inputTokens + outputTokens });
}

export function outputItems(
  thinking: string,
  text: string,
  calls: { name: string; arguments: Json }[],
  doneReason: string | undefined,
): AgentOutputItem[] {
  const items: AgentOutputItem[] = [];
  if (thinking) {
    items.push({ type: 'reasoning', content: [], rawContent: [{ type: 'reasoning_text', text: thinking }] });
  }
  if (text) {
    items.push({
      id: FAKE_ID,
      type: 'message',
      role: 'assistant',
      status: doneReason === 'length' ? 'incomplete' : 'completed',
      content: [{ type: 'output_text', text }],
    });
  }
  for (const call of calls) {
    items.push({
      id: FAKE_ID,
      type: 'function_call',
      callId: newCallId(),
      name: call.name,
      arguments: JSON.stringify(call.arguments ?? {}),
      status: 'completed',
    });
  }
  return items;
}

export function callsOf(message: Partial<OllamaMessage> | undefined): { name: string; arguments: Json }[] {
  return (message?.tool_calls ?? []).map((call) => ({
    name: String(call.function?.name ?? ''),
    arguments: argumentsObject(call.function?.arguments),
  }));
}
