/**
 * Agent graphs shared by the vector generator, the node tests and the cross-language driver.
 * The Python twin is tests/vectors/scenarios.py: same agent names, tool names, parameters and
 * results, so that a state written by one SDK can be resumed by the other.
 */
import { Agent, Usage, tool } from '@openai/agents';
import type { InputGuardrail, Model, ModelResponse, OutputGuardrail } from '@openai/agents';
import {
  ScriptedModel,
  assistantMessage,
  functionCall,
} from '@openai/agents-core/testing';
import { z } from 'zod';

export const SUPPORT = 'support';
export const TRIAGE = 'triage';
export const HANDOFF_TOOL = 'transfer_to_support';

/** Every real execution of `refund` in this process, as `order_id/amount`. */
export const refundExecutions: string[] = [];

export const refund = tool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
  needsApproval: true,
  execute: async ({ order_id, amount }) => {
    refundExecutions.push(`${order_id}/${amount}`);
    return `refunded ${order_id} ${amount}`;
  },
});

export const lookup = tool({
  name: 'lookup',
  description: 'Look up an order.',
  parameters: z.object({ order_id: z.string() }),
  execute: async ({ order_id }) => `order ${order_id}: paid`,
});

export const RefundDecision = z.object({ order_id: z.string(), amount: z.number().int() });

export const polite: InputGuardrail = {
  name: 'polite',
  execute: async () => ({ outputInfo: { checked: true }, tripwireTriggered: false }),
};

export const saneAmount: OutputGuardrail<typeof RefundDecision> = {
  name: 'sane_amount',
  execute: async () => ({ outputInfo: { ok: true }, tripwireTriggered: false }),
};

export function supportAgent(model: Model, options: { guarded?: boolean } = {}): Agent {
  return new Agent({
    name: SUPPORT,
    instructions: 'Help.',
    model,
    tools: [refund, lookup],
    inputGuardrails: options.guarded ? [polite] : [],
  });
}

export function structuredAgent(model: Model): Agent<unknown, typeof RefundDecision> {
  return new Agent<unknown, typeof RefundDecision>({
    name: SUPPORT,
    instructions: 'Decide.',
    model,
    outputType: RefundDecision,
    outputGuardrails: [saneAmount],
  });
}

export function triageAgent(triageModel: Model, supportModel: Model): Agent {
  return Agent.create({
    name: TRIAGE,
    instructions: 'Route.',
    model: triageModel,
    handoffs: [supportAgent(supportModel)],
  }) as unknown as Agent;
}

export function refundCall(callId: string, orderId = '42', amount = 5) {
  return functionCall('refund', { order_id: orderId, amount }, { callId });
}

export function lookupCall(callId: string, orderId = '42') {
  return functionCall('lookup', { order_id: orderId }, { callId });
}

export function handoffCall(callId = 'call_h') {
  return functionCall(HANDOFF_TOOL, {}, { callId });
}

export function text(message: string) {
  return assistantMessage(message);
}

export function detailedUsage(): Usage {
  return new Usage({
    requests: 1,
    inputTokens: 11,
    outputTokens: 7,
    totalTokens: 18,
    inputTokensDetails: { cached_tokens: 3, cache_write_tokens: 1 },
    outputTokensDetails: { reasoning_tokens: 2 },
  });
}

export type Step = ModelResponse | ModelResponse['output'];

export function scripted(...steps: Step[]): ScriptedModel {
  return new ScriptedModel(steps);
}
