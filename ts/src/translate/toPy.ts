/** JS RunState 1.22 -> Python RunState 1.21. */
import {
  type Json,
  PYTHON_SCHEMA,
  agentRef,
  arr,
  isEmptyValue,
  isObj,
  obj,
  objs,
  req,
  requireEmpty,
  str,
  toPyErr,
} from './common.js';
import { PLAIN_ITEMS, decisionList, guardrails, rawToPy, usageToPy } from './items.js';
import { parseBareKey } from './jsIdentity.js';
import { pythonFingerprint, pythonScope } from './pyIdentity.js';

export class ToPy {
  constructor(readonly state: Json) {}

  item(item: Json): Json {
    const kind = item.type;
    const raw = rawToPy(item.rawItem);
    if (kind === 'handoff_output_item') {
      const source = agentRef(item.sourceAgent, 'handoff source');
      return {
        type: kind,
        raw_item: raw,
        agent: source,
        source_agent: source,
        target_agent: agentRef(item.targetAgent, 'handoff target'),
      };
    }
    const out: Json = { type: kind, raw_item: raw, agent: agentRef(item.agent, str(kind)) };
    if (kind === 'tool_call_output_item') {
      out.output = typeof item.output === 'string' ? item.output : raw.output;
      out.tool_origin = { type: 'function' };
    } else if (kind === 'tool_call_item') {
      out.tool_name = raw.name;
      out.tool_origin = { type: 'function' };
    } else if (kind === 'tool_approval_item') {
      const name =
        typeof item.functionToolStateKey === 'string'
          ? parseBareKey(item.functionToolStateKey)
          : str(raw.name);
      out.tool_name = item.toolName || name;
      out.tool_lookup_key = { kind: 'bare', name };
      out.tool_origin = { type: 'function' };
    } else if (!PLAIN_ITEMS.has(str(kind))) {
      throw toPyErr(`run item ${JSON.stringify(kind)}`);
    }
    if ((kind === 'tool_call_item' || kind === 'tool_approval_item') && raw.type !== 'function_call') {
      throw toPyErr(`${str(kind)} for ${JSON.stringify(raw.type)}`);
    }
    return out;
  }

  modelResponse(response: Json): Json {
    return {
      usage: usageToPy(obj(response.usage)),
      output: arr(response.output).map(rawToPy),
      response_id: response.responseId ?? null,
      request_id: response.requestId ?? null,
    };
  }

  ledger(generated: Json[]): Json {
    const ledger: Json = {};
    const outputs = new Set(
      generated
        .filter((i) => i.type === 'tool_call_output_item' || i.type === 'handoff_output_item')
        .map((i) => str(obj(i.raw_item).call_id)),
    );
    for (const item of generated) {
      const kind = item.type;
      if (kind !== 'tool_call_item' && kind !== 'handoff_call_item' && kind !== 'tool_approval_item') {
        continue;
      }
      const raw = obj(item.raw_item);
      const callId = str(raw.call_id);
      if (callId in ledger) continue;
      const scope = pythonScope(str(raw.name), kind === 'handoff_call_item' ? 'handoff' : null);
      const done = outputs.has(callId);
      ledger[callId] = {
        type: 'function_call',
        approval_scope: scope,
        fingerprint: pythonFingerprint(scope, str(raw.arguments)),
        executed: done,
        completed: done,
      };
    }
    return ledger;
  }

  approvals(context: Json): Json[] {
    if (!isEmptyValue(context.approvals)) {
      throw toPyErr('context.approvals', 'non-function-tool approvals');
    }
    if (!isEmptyValue(context.hostedMcpApprovals)) throw toPyErr('hosted MCP approvals');
    if (!isEmptyValue(context.legacyFunctionApprovals)) throw toPyErr('legacyFunctionApprovals');
    for (const record of objs(context.approvalInvocations)) {
      if (!isEmptyValue(record.approvals)) {
        throw toPyErr('approvalInvocations.approvals', 'non-function tools');
      }
    }
    const out: Json[] = [];
    for (const entry of objs(context.functionApprovals)) {
      const agent = { name: entry.agentIdentity };
      for (const [stateKey, recordValue] of Object.entries(obj(entry.approvals))) {
        const record = obj(recordValue);
        const name = parseBareKey(stateKey);
        const decision: Json = {
          approved: decisionList(record.approved),
          rejected: decisionList(record.rejected),
        };
        if (!isEmptyValue(record.messages)) decision.rejection_messages = { ...obj(record.messages) };
        if (record.stickyRejectMessage !== undefined && record.stickyRejectMessage !== null) {
          decision.sticky_rejection_message = record.stickyRejectMessage;
        }
        if (decision.approved === true || decision.rejected === true) {
          decision.sticky_scope = pythonScope(name, null);
        }
        out.push({ agent, tool_key: name, decision });
      }
    }
    return out;
  }

  processedResponse(data: Json, interruptions: Json[]): Json {
    for (const key of [
      'computerActions',
      'shellActions',
      'applyPatchActions',
      'mcpApprovalRequests',
      'functionToolsNotFound',
    ]) {
      if (!isEmptyValue(data[key])) throw toPyErr(`lastProcessedResponse.${key}`);
    }
    const functions = objs(data.functions).map((entry) => {
      if (entry.mcpToolBinding !== undefined && entry.mcpToolBinding !== null && entry.mcpToolBinding !== 'unknown') {
        throw toPyErr('MCP tool bindings');
      }
      const call = rawToPy(entry.toolCall);
      const name = obj(entry.tool).name || call.name;
      return { tool_call: call, tool: { name, lookupKey: { kind: 'bare', name } } };
    });
    const handoffs = objs(data.handoffs).map((entry) => {
      const call = rawToPy(entry.toolCall);
      return { tool_call: call, handoff: { tool_name: obj(entry.handoff).toolName || call.name } };
    });
    return {
      new_items: objs(data.newItems).map((item) => this.item(item)),
      tools_used: [...arr(data.toolsUsed)],
      functions,
      computer_actions: [],
      custom_tool_actions: [],
      local_shell_actions: [],
      shell_actions: [],
      apply_patch_actions: [],
      handoffs,
      mcp_approval_requests: [],
      interruptions,
      mcp_tool_bindings: {},
    };
  }

  run(): Json {
    const state = this.state;
    requireEmpty(
      state,
      [
        'toolInputGuardrailResults',
        'toolOutputGuardrailResults',
        'pendingAgentToolRuns',
        'pendingAgentToolRunAliases',
        'pendingSessionHistoryTransaction',
        'pendingSessionWrite',
        'pendingLegacyCompactionSessionItems',
        'currentTurnDeferredSessionItemIndexes',
        'ambiguousToolInvocationCallIds',
        'sandbox',
      ],
      false,
    );
    const context = obj(req(state, 'context', 'root'));
    const jsContext = context.context;
    if (jsContext !== null && jsContext !== undefined && !isObj(jsContext)) {
      throw toPyErr('context.context', 'only JSON object contexts');
    }
    const hasContext = isObj(jsContext) && Object.keys(jsContext).length > 0;
    const generated = objs(state.generatedItems).map((item) => this.item(item));
    const step = state.currentStep;
    let currentStep: Json | null = null;
    let interruptions: Json[] = [];
    if (isObj(step)) {
      const kind = step.type;
      if (kind === 'next_step_interruption') {
        interruptions = objs(obj(step.data).interruptions).map((item) => this.item(item));
        currentStep = {
          type: 'next_step_interruption',
          data: { interruptions, response_accepted: false, llm_end_hooks_started: true },
        };
      } else if (kind === 'next_step_run_again') {
        currentStep = { type: 'next_step_run_again' };
      } else if (kind !== 'next_step_final_output' && kind !== 'next_step_handoff') {
        throw toPyErr(`currentStep ${JSON.stringify(kind)}`);
      }
    }
    const modelResponses = objs(state.modelResponses).map((r) => this.modelResponse(r));
    const pyContext: Json = {
      usage: usageToPy(obj(context.usage)),
      approvals: {},
      tool_invocations: this.ledger(generated),
      context: hasContext ? { ...obj(jsContext) } : null,
      context_meta: {
        original_type: hasContext ? 'dict' : 'none',
        serialized_via: hasContext ? 'direct' : 'none',
        requires_deserializer: false,
        omitted: false,
      },
    };
    if (context.toolInput !== undefined && context.toolInput !== null) {
      pyContext.tool_input = context.toolInput;
    }
    const functionApprovals = this.approvals(context);
    if (functionApprovals.length > 0) pyContext.function_tool_approvals = functionApprovals;
    const toPyInput = (value: unknown) =>
      typeof value === 'string' ? value : arr(value).map(rawToPy);
    const out: Json = {
      $schemaVersion: PYTHON_SCHEMA,
      current_turn: req(state, 'currentTurn', 'root'),
      current_agent: agentRef(state.currentAgent, 'currentAgent'),
      original_input: toPyInput(state.originalInput),
      pending_input: toPyInput(state.pendingInput ?? []),
      model_responses: modelResponses,
      context: pyContext,
      tool_use_tracker: Object.fromEntries(
        Object.entries(obj(state.toolUseTracker)).map(([agent, tools]) => [agent, [...arr(tools)]]),
      ),
      max_turns: state.maxTurns ?? null,
      no_active_agent_run: true,
      input_guardrail_results: guardrails(state.inputGuardrailResults, 'input'),
      output_guardrail_results: guardrails(state.outputGuardrailResults, 'output'),
      tool_input_guardrail_results: [],
      tool_output_guardrail_results: [],
      conversation_id: state.conversationId ?? null,
      previous_response_id: state.previousResponseId ?? null,
      auto_previous_response_id: false,
      generated_prompt_cache_key: null,
      reasoning_item_id_policy: state.reasoningItemIdPolicy ?? null,
      nested_history_owned_session_item_refs: [],
    };
    const ownership = state.currentResponseGeneratedItemOwnership;
    if (isObj(ownership) && currentStep !== null && interruptions.length > 0) {
      out.current_response_generated_item_ownership = {
        start: ownership.generatedItemStartIndex,
        end: ownership.generatedItemEndIndexExclusive,
        interruptions: [...arr(ownership.interruptionGeneratedItemIndexes)],
      };
    }
    out.generated_items = generated;
    out.current_step = currentStep;
    out.last_model_response = modelResponses.length > 0 ? modelResponses[modelResponses.length - 1] : null;
    const finished = isObj(step) && step.type === 'next_step_final_output';
    out.last_processed_response =
      isObj(state.lastProcessedResponse) && !finished
        ? this.processedResponse(state.lastProcessedResponse, interruptions)
        : null;
    out.current_turn_persisted_item_count = state.currentTurnPersistedItemCount ?? 0;
    out.trace = null;
    return out;
  }
}
