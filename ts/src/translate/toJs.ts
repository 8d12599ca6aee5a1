/** Python RunState 1.21 -> JS RunState 1.22. */
import { CorruptStateError } from '../errors.js';
import {
  JS_SCHEMA,
  type Json,
  agentKey,
  agentRef,
  arr,
  isEmptyValue,
  isObj,
  obj,
  objs,
  req,
  requireEmpty,
  str,
  toJsErr,
} from './common.js';
import { PLAIN_ITEMS, decisionList, guardrails, rawToJs, usageToJs } from './items.js';
import { bareStateKey, functionCallFingerprint, handoffToolName } from './jsIdentity.js';

export class ToJs {
  readonly names = new Map<string, string>();

  constructor(readonly state: Json) {
    const visit = (raw: unknown) => {
      if (isObj(raw) && raw.type === 'function_call') {
        if (typeof raw.call_id === 'string' && typeof raw.name === 'string') {
          if (!this.names.has(raw.call_id)) this.names.set(raw.call_id, raw.name);
        }
      }
    };
    for (const response of objs(state.model_responses)) arr(response.output).forEach(visit);
    for (const key of ['generated_items', 'session_items']) {
      for (const item of objs(state[key])) visit(item.raw_item);
    }
    if (Array.isArray(state.original_input)) state.original_input.forEach(visit);
  }

  item(item: Json): Json {
    const kind = item.type;
    const raw = rawToJs(item.raw_item, this.names);
    if (kind === 'handoff_output_item') {
      return {
        type: kind,
        rawItem: raw,
        sourceAgent: agentRef(item.source_agent, 'handoff source'),
        targetAgent: agentRef(item.target_agent, 'handoff target'),
      };
    }
    const out: Json = { type: kind, rawItem: raw, agent: agentRef(item.agent, str(kind)) };
    if (kind === 'tool_call_output_item') {
      out.output = typeof item.output === 'string' ? item.output : obj(raw.output).text;
    } else if (kind === 'tool_approval_item') {
      out.toolName = item.tool_name || raw.name;
      out.functionToolStateKey = this.stateKey(item, raw);
    } else if (!PLAIN_ITEMS.has(str(kind))) {
      throw toJsErr(`run item ${JSON.stringify(kind)}`);
    }
    if ((kind === 'tool_call_item' || kind === 'tool_approval_item') && raw.type !== 'function_call') {
      throw toJsErr(`${str(kind)} for ${JSON.stringify(raw.type)}`);
    }
    return out;
  }

  private stateKey(item: Json, raw: Json): string {
    const lookup = item.tool_lookup_key;
    if (lookup === undefined || lookup === null) return bareStateKey(str(raw.name));
    if (isObj(lookup) && lookup.kind === 'bare') return bareStateKey(str(lookup.name));
    throw toJsErr('tool_lookup_key', `only bare top-level tools, got ${JSON.stringify(lookup)}`);
  }

  modelResponse(response: Json): Json {
    const out: Json = {
      usage: usageToJs(obj(response.usage)),
      output: arr(response.output).map((raw) => rawToJs(raw, this.names)),
    };
    if (response.response_id) out.responseId = response.response_id;
    if (response.request_id) out.requestId = response.request_id;
    return out;
  }

  private pendingIds(): Set<string> {
    const step = obj(this.state.current_step);
    const ids = new Set<string>();
    if (step.type === 'next_step_interruption') {
      for (const item of objs(obj(step.data).interruptions)) {
        const callId = obj(item.raw_item).call_id;
        if (typeof callId === 'string') ids.add(callId);
      }
    }
    return ids;
  }

  private callsById(): Map<string, [string, string, string]> {
    const calls = new Map<string, [string, string, string]>();
    for (const item of objs(this.state.generated_items)) {
      const raw = obj(item.raw_item);
      if (raw.type === 'function_call' && item.type !== 'handoff_call_item') {
        const agent = agentKey(agentRef(item.agent, 'tool call owner'));
        const callId = str(raw.call_id);
        if (!calls.has(callId)) calls.set(callId, [agent, str(raw.name), str(raw.arguments)]);
      }
    }
    return calls;
  }

  approvals(context: Json): [Json[], Json[]] {
    if (!isEmptyValue(context.approvals)) {
      throw toJsErr('context.approvals', 'non-function-tool approvals');
    }
    if (!isEmptyValue(context.hosted_mcp_approvals)) throw toJsErr('hosted MCP approvals');
    const calls = this.callsById();
    const functionApprovals = new Map<string, Json>();
    const invocations = new Map<string, Json>();
    for (const entry of objs(context.function_tool_approvals)) {
      const agent = agentKey(agentRef(entry.agent, 'function approval owner'));
      const toolKey = entry.tool_key;
      if (typeof toolKey !== 'string' || toolKey.includes('.')) {
        throw toJsErr('function_tool_approvals.tool_key', str(toolKey));
      }
      const decision = obj(entry.decision);
      const record: Json = {
        approved: decisionList(decision.approved),
        rejected: decisionList(decision.rejected),
      };
      if (!isEmptyValue(decision.rejection_messages)) {
        record.messages = { ...obj(decision.rejection_messages) };
      }
      if (decision.sticky_rejection_message !== undefined && decision.sticky_rejection_message !== null) {
        record.stickyRejectMessage = decision.sticky_rejection_message;
      }
      const approvalsForAgent = functionApprovals.get(agent) ?? {};
      approvalsForAgent[bareStateKey(toolKey)] = record;
      functionApprovals.set(agent, approvalsForAgent);
      const perCall: string[] = [];
      for (const field of ['approved', 'rejected']) {
        if (Array.isArray(record[field])) perCall.push(...(record[field] as string[]));
      }
      if (record.approved === true || record.rejected === true) {
        const pending = this.pendingIds();
        for (const [callId, [owner, name]] of calls) {
          if (owner === agent && name === toolKey && pending.has(callId)) perCall.push(callId);
        }
      }
      for (const callId of perCall) {
        const call = calls.get(callId);
        if (!call) throw new CorruptStateError(`approval for unknown call '${callId}'`);
        const byCall = invocations.get(agent) ?? {};
        byCall[callId] = functionCallFingerprint(bareStateKey(call[1]), call[2]);
        invocations.set(agent, byCall);
      }
    }
    return [
      [...functionApprovals].map(([agentIdentity, approvals]) => ({ agentIdentity, approvals })),
      [...invocations].map(([agentIdentity, inv]) => ({
        agentIdentity,
        invocations: inv,
        approvals: {},
      })),
    ];
  }

  completed(generated: Json[]): [Json[], Json[]] {
    const pending = new Map<string, [number, string]>();
    const completed = new Map<string, Json>();
    const evidence = new Map<string, Json>();
    generated.forEach((item, index) => {
      const kind = item.type;
      const raw = obj(item.rawItem);
      if (kind === 'tool_call_item' || kind === 'handoff_call_item' || kind === 'tool_approval_item') {
        const agent = agentKey(obj(item.agent));
        const toolName =
          kind === 'handoff_call_item'
            ? handoffToolName(str(raw.name))
            : typeof item.functionToolStateKey === 'string'
              ? item.functionToolStateKey
              : bareStateKey(str(raw.name));
        const key = JSON.stringify([agent, raw.callId]);
        if (!pending.has(key)) {
          pending.set(key, [index, functionCallFingerprint(toolName, str(raw.arguments))]);
        }
      } else if (kind === 'tool_call_output_item' || kind === 'handoff_output_item') {
        const owner = kind === 'handoff_output_item' ? obj(item.sourceAgent) : obj(item.agent);
        const agent = agentKey(owner);
        const key = JSON.stringify([agent, raw.callId]);
        const found = pending.get(key);
        if (!found) throw toJsErr('tool output without its call', `call '${str(raw.callId)}'`);
        pending.delete(key);
        const [callIndex, fingerprint] = found;
        const byCall = completed.get(agent) ?? {};
        byCall[str(raw.callId)] = fingerprint;
        completed.set(agent, byCall);
        const byCallEvidence = evidence.get(agent) ?? {};
        byCallEvidence[str(raw.callId)] = {
          fingerprint,
          items: [{ generatedItemIndex: callIndex }, { generatedItemIndex: index }],
        };
        evidence.set(agent, byCallEvidence);
      }
    });
    return [
      [...completed].map(([agentIdentity, invocations]) => ({ agentIdentity, invocations })),
      [...evidence].map(([agentIdentity, invocations]) => ({ agentIdentity, invocations })),
    ];
  }

  processedResponse(data: Json): Json {
    for (const key of [
      'computer_actions',
      'custom_tool_actions',
      'local_shell_actions',
      'shell_actions',
      'apply_patch_actions',
      'mcp_approval_requests',
    ]) {
      if (!isEmptyValue(data[key])) throw toJsErr(`last_processed_response.${key}`);
    }
    if (!isEmptyValue(data.mcp_tool_bindings)) throw toJsErr('MCP tool bindings');
    const functions = objs(data.functions).map((entry) => {
      if (entry.agent_run_state) throw toJsErr('agent-as-tool nested runs');
      const call = rawToJs(entry.tool_call, this.names);
      return {
        toolCall: call,
        tool: { type: 'function', name: obj(entry.tool).name || call.name },
        mcpToolBinding: null,
      };
    });
    const handoffs = objs(data.handoffs).map((entry) => {
      const call = rawToJs(entry.tool_call, this.names);
      return { toolCall: call, handoff: { toolName: obj(entry.handoff).tool_name || call.name } };
    });
    return {
      newItems: objs(data.new_items).map((item) => this.item(item)),
      toolsUsed: [...arr(data.tools_used)],
      handoffs,
      functions,
      functionToolsNotFound: [],
      computerActions: [],
      shellActions: [],
      applyPatchActions: [],
      mcpApprovalRequests: [],
    };
  }

  finalOutput(): unknown {
    if (this.state.current_step !== null && this.state.current_step !== undefined) return null;
    if (this.state.last_processed_response) return null;
    const items = objs(this.state.generated_items);
    const last = items[items.length - 1];
    if (!last || last.type !== 'message_output_item') return null;
    return objs(obj(last.raw_item).content)
      .filter((part) => part.type === 'output_text')
      .map((part) => str(part.text ?? ''))
      .join('');
  }

  currentStep(step: unknown, finalOutput: unknown): Json | null {
    if (step === null || step === undefined) {
      return finalOutput !== null ? { type: 'next_step_final_output', output: finalOutput } : null;
    }
    const kind = obj(step).type;
    if (kind === 'next_step_run_again') return { type: 'next_step_run_again' };
    if (kind === 'next_step_interruption') {
      return {
        type: 'next_step_interruption',
        data: {
          interruptions: objs(obj(obj(step).data).interruptions).map((item) => this.item(item)),
        },
      };
    }
    throw toJsErr(`current_step ${JSON.stringify(kind)}`);
  }

  run(): Json {
    const state = this.state;
    requireEmpty(
      state,
      [
        'tool_input_guardrail_results',
        'tool_output_guardrail_results',
        'nested_history_owned_session_item_refs',
        'pending_session_write',
        'sandbox',
        'terminal_unrecoverable',
      ],
      true,
    );
    const context = obj(req(state, 'context', 'root'));
    const pyContext = context.context;
    if (pyContext !== null && pyContext !== undefined && !isObj(pyContext)) {
      throw toJsErr('context.context', 'only mapping (JSON object) contexts');
    }
    if (obj(context.context_meta).requires_deserializer) {
      throw toJsErr('context.context', 'context needs a custom deserializer');
    }
    const [functionApprovals, approvalInvocations] = this.approvals(context);
    const generated = objs(state.generated_items).map((item) => this.item(item));
    const [completed, evidence] = this.completed(generated);
    const modelResponses = objs(state.model_responses).map((r) => this.modelResponse(r));
    const currentStep = this.currentStep(state.current_step, this.finalOutput());
    const interrupted = currentStep !== null && currentStep.type === 'next_step_interruption';
    const jsContext: Json = { usage: usageToJs(obj(context.usage)), approvals: {} };
    if (functionApprovals.length > 0) jsContext.functionApprovals = functionApprovals;
    jsContext.approvalInvocations = approvalInvocations;
    jsContext.context = { ...obj(pyContext) };
    if (context.tool_input !== undefined && context.tool_input !== null) {
      jsContext.toolInput = context.tool_input;
    }
    const tracker: Json = {};
    for (const [agent, tools] of Object.entries(obj(state.tool_use_tracker))) {
      tracker[agent] = [...new Set(arr(tools))];
    }
    const out: Json = {
      $schemaVersion: JS_SCHEMA,
      currentTurn: req(state, 'current_turn', 'root'),
      currentAgent: agentRef(state.current_agent, 'current_agent'),
      originalInput:
        typeof state.original_input === 'string'
          ? state.original_input
          : arr(state.original_input).map((raw) => rawToJs(raw, this.names)),
      modelResponses,
      context: jsContext,
      toolUseTracker: tracker,
      maxTurns: state.max_turns ?? null,
      noActiveAgentRun: false,
      inputGuardrailResults: guardrails(state.input_guardrail_results, 'input'),
      initialInputGuardrailsCompleted: true,
      outputGuardrailResults: guardrails(state.output_guardrail_results, 'output'),
      toolInputGuardrailResults: [],
      toolOutputGuardrailResults: [],
      currentTurnInProgress: interrupted,
    };
    const pendingInput = arr(state.pending_input);
    if (pendingInput.length > 0) out.pendingInput = pendingInput.map((raw) => rawToJs(raw, this.names));
    if (currentStep !== null) out.currentStep = currentStep;
    if (modelResponses.length > 0) out.lastModelResponse = modelResponses[modelResponses.length - 1];
    out.generatedItems = generated;
    const ownership = state.current_response_generated_item_ownership;
    if (isObj(ownership) && interrupted) {
      out.currentResponseGeneratedItemOwnership = {
        generatedItemStartIndex: ownership.start,
        generatedItemEndIndexExclusive: ownership.end,
        interruptionGeneratedItemIndexes: [...arr(ownership.interruptions)],
        toolOutputGuardrailResultStartIndex: 0,
      };
    }
    out.pendingAgentToolRuns = {};
    out.pendingAgentToolRunAliases = {};
    if (isObj(state.last_processed_response)) {
      out.lastProcessedResponse = this.processedResponse(state.last_processed_response);
    }
    out.currentTurnPersistedItemCount = state.current_turn_persisted_item_count ?? 0;
    out.completedToolInvocations = completed;
    out.completedToolInvocationEvidence = evidence;
    out.ambiguousToolInvocationCallIds = [];
    if (state.conversation_id) out.conversationId = state.conversation_id;
    if (state.previous_response_id) out.previousResponseId = state.previous_response_id;
    if (state.reasoning_item_id_policy) out.reasoningItemIdPolicy = state.reasoning_item_id_policy;
    out.trace = null;
    return out;
  }
}
