/**
 * Regenerates the TypeScript half of the shared RunState vectors with the real JS SDK:
 * `npm run vectors` writes tests/vectors/<shape>/typescript.json for every shape.
 * Runs are scripted (ScriptedModel) and offline; tracing is disabled so files are deterministic.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runner, type Agent, type RunState } from '@openai/agents';
import {
  detailedUsage,
  handoffCall,
  lookupCall,
  refundCall,
  scripted,
  structuredAgent,
  supportAgent,
  text,
  triageAgent,
} from './fixtures.js';

type Json = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyState = RunState<any, Agent<any, any>>;

const here = dirname(fileURLToPath(import.meta.url));
export const VECTORS = resolve(here, '..', '..', '..', 'tests', 'vectors');
const INPUT = 'Refund order 42';
const runner = new Runner({ tracingDisabled: true });

async function interrupt(agent: Agent, options: { conversationId?: string } = {}): Promise<AnyState> {
  const result = await runner.run(agent, INPUT, options);
  if (result.interruptions.length === 0) throw new Error('scenario should stop for an approval');
  return result.state as AnyState;
}

const json = (state: AnyState): Json => state.toJSON() as unknown as Json;

export const SHAPES: Record<string, () => Promise<Json>> = {
  single_approval: async () => json(await interrupt(supportAgent(scripted([refundCall('call_1')])))),
  multiple_approvals: async () =>
    json(await interrupt(supportAgent(scripted([refundCall('call_1'), refundCall('call_2', '43', 7)])))),
  approved: async () => {
    const state = await interrupt(supportAgent(scripted([refundCall('call_1')])));
    state.approve(state.getInterruptions()[0]!);
    return json(state);
  },
  rejected_with_message: async () => {
    const state = await interrupt(supportAgent(scripted([refundCall('call_1')])));
    state.reject(state.getInterruptions()[0]!, { message: 'Refunds need a manager.' });
    return json(state);
  },
  always_approve: async () => {
    const state = await interrupt(supportAgent(scripted([refundCall('call_1')])));
    state.approve(state.getInterruptions()[0]!, { alwaysApprove: true });
    return json(state);
  },
  always_reject: async () => {
    const state = await interrupt(supportAgent(scripted([refundCall('call_1')])));
    state.reject(state.getInterruptions()[0]!, { alwaysReject: true });
    return json(state);
  },
  mixed_decisions: async () => {
    const state = await interrupt(
      supportAgent(scripted([refundCall('call_1'), refundCall('call_2', '43', 7)])),
    );
    const [first, second] = state.getInterruptions();
    state.approve(first!);
    state.reject(second!, { message: 'Too much.' });
    return json(state);
  },
  handoff: async () =>
    json(await interrupt(triageAgent(scripted([handoffCall()]), scripted([refundCall('call_1')])))),
  second_interruption: async () => {
    const agent = supportAgent(
      scripted([lookupCall('call_0'), refundCall('call_1')], [refundCall('call_2', '43', 7)]),
    );
    const state = await interrupt(agent);
    state.approve(state.getInterruptions()[0]!);
    const result = await runner.run(agent, state);
    if (result.interruptions.length === 0) throw new Error('expected a second interruption');
    return json(result.state as AnyState);
  },
  usage_details: async () =>
    json(
      await interrupt(
        supportAgent(scripted({ output: [refundCall('call_1')], usage: detailedUsage() })),
      ),
    ),
  reasoning: async () =>
    json(
      await interrupt(
        supportAgent(
          scripted([
            {
              type: 'reasoning',
              id: 'rs_1',
              content: [{ type: 'input_text', text: 'The user wants a refund.' }],
            },
            refundCall('call_1'),
          ]),
        ),
      ),
    ),
  streamed: async () => {
    const agent = supportAgent(scripted([refundCall('call_1')]));
    const result = await runner.run(agent, INPUT, { stream: true });
    await result.completed;
    if (result.interruptions.length === 0) throw new Error('expected an interruption');
    return json(result.state as AnyState);
  },
  conversation_id: async () =>
    json(
      await interrupt(supportAgent(scripted([refundCall('call_1')])), {
        conversationId: 'conv_123',
      }),
    ),
  completed: async () => {
    const agent = supportAgent(scripted([refundCall('call_1')], [text('Refunded order 42.')]));
    const state = await interrupt(agent);
    state.approve(state.getInterruptions()[0]!);
    const result = await runner.run(agent, state);
    if (result.finalOutput !== 'Refunded order 42.') throw new Error('unexpected final output');
    return json(result.state as AnyState);
  },
  input_guardrail: async () =>
    json(await interrupt(supportAgent(scripted([refundCall('call_1')]), { guarded: true }))),
  structured_output: async () => {
    const agent = structuredAgent(scripted([text('{"order_id":"42","amount":5}')]));
    const result = await runner.run(agent, INPUT);
    if ((result.finalOutput as { amount?: number } | undefined)?.amount !== 5) {
      throw new Error('unexpected structured output');
    }
    return json(result.state as AnyState);
  },
};

export function dump(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}

async function main(names: string[]): Promise<void> {
  for (const name of names.length > 0 ? names : Object.keys(SHAPES)) {
    const shape = SHAPES[name];
    if (!shape) throw new Error(`unknown shape ${name}`);
    dump(join(VECTORS, name, 'typescript.json'), await shape());
    console.log(`wrote ${name}/typescript.json`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
