/**
 * The Node half of the cross-language round trips (driven by tests/crosslang/test_crosslang.py):
 *
 *   node dist-test/test/crosslang-driver.js start  <store> <runId> <graph> <steps>
 *   node dist-test/test/crosslang-driver.js resume <store> <runId> <graph> <steps> <decision>
 *
 * `graph` is `support` or `triage` (see fixtures.ts). `steps` is the JSON script of this segment's
 * model calls: a list of model responses, each a list of outputs `{"text": ...}`,
 * `{"refund": callId, "order": "42", "amount": 5}` or `{"handoff": callId}`. For a triage graph,
 * `start` gives the first step to the triage model and the rest to support. `decision` is
 * `approve`, `approve-always`, `reject`, `reject-always` or `reject:<message>`, applied to every
 * pending approval. Prints one JSON line: the run's facts after this segment.
 */
import { Runner, type Agent } from '@openai/agents';
import { RunStateStore, runAgent } from '../src/index.js';
import { handoffCall, refundCall, refundExecutions, scripted, supportAgent, text, triageAgent, type Step } from './fixtures.js';

type Output = { text?: string; refund?: string; order?: string; amount?: number; handoff?: string };

function step(outputs: Output[]): Step {
  return outputs.map((o) => {
    if (o.text !== undefined) return text(o.text);
    if (o.refund !== undefined) return refundCall(o.refund, o.order ?? '42', o.amount ?? 5);
    if (o.handoff !== undefined) return handoffCall(o.handoff);
    throw new Error(`unknown output ${JSON.stringify(o)}`);
  }) as Step;
}

function graph(name: string, steps: Step[], starting: boolean): Agent {
  if (name === 'support') return supportAgent(scripted(...steps));
  if (name === 'triage') {
    return starting
      ? triageAgent(scripted(...steps.slice(0, 1)), scripted(...steps.slice(1)))
      : triageAgent(scripted(), scripted(...steps));
  }
  throw new Error(`unknown graph ${name}`);
}

async function main(): Promise<void> {
  const [action, target, runId, graphName, stepsJson, decision = 'approve'] = process.argv.slice(2);
  if (!action || !target || !runId || !graphName || !stepsJson) {
    throw new Error('usage: crosslang-driver <start|resume> <store> <runId> <graph> <steps> [decision]');
  }
  const steps = (JSON.parse(stepsJson) as Output[][]).map(step);
  const store = new RunStateStore(target);
  const runner = new Runner({ tracingDisabled: true });
  try {
    const agent = graph(graphName, steps, action === 'start');
    let result;
    if (action === 'start') {
      result = await runAgent(agent, 'Refund order 42', { runId, store, runner, durable: false });
    } else if (action === 'resume') {
      const state = await store.load(runId, agent);
      for (const item of state.getInterruptions()) {
        if (decision === 'approve') state.approve(item);
        else if (decision === 'approve-always') state.approve(item, { alwaysApprove: true });
        else if (decision === 'reject') state.reject(item);
        else if (decision === 'reject-always') state.reject(item, { alwaysReject: true });
        else if (decision.startsWith('reject:')) state.reject(item, { message: decision.slice(7) });
        else throw new Error(`unknown decision ${decision}`);
      }
      result = await runAgent(agent, state, { runId, store, runner, durable: false });
    } else {
      throw new Error(`unknown action ${action}`);
    }
    const stored = await store.get(runId);
    const outputs = result.newItems
      .filter((i) => i.type === 'tool_call_output_item')
      .map((i) => (i as unknown as { output: unknown }).output);
    console.log(
      JSON.stringify({
        finalOutput: result.finalOutput ?? null,
        interruptions: result.interruptions.map((i) => (i.rawItem as { callId?: string }).callId),
        toolOutputs: outputs,
        executed: refundExecutions,
        currentAgent: result.lastAgent?.name ?? null,
        version: stored.version,
        language: stored.language,
        status: stored.status,
      }),
    );
  } finally {
    await store.close();
  }
}

await main();
