"""Model calls, tool calls and handoffs of a segment as DBOS steps, without touching user code.

The segment's agent graph is cloned: models are wrapped in :class:`DurableModel` (also installed as
the RunConfig's model provider), each ``FunctionTool.on_invoke_tool`` and each handoff's
``on_invoke_handoff`` is replaced by a wrapper that runs the original inside a DBOS step. MCP
servers are wrapped in :class:`DurableMCPServer` (which checkpoints each tool listing, step
``timestep.mcp.list:<server>``, and adds the call's idempotency key to the request's ``_meta``)
and the function tools the SDK builds from them each turn get the same step wrapper (step
``timestep.mcp:<tool name>``). Step outputs are JSON. Tool calls of one model response get their
step ids reserved right after the model step, in response order, so parallel tools replay onto the
same step ids whatever order the event loop starts them in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, cast, get_args, get_origin

from agents import Agent, Handoff, Model, ModelProvider, ModelResponse
from agents.exceptions import ModelBehaviorError
from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.mcp import MCPServer
from agents.mcp.util import MCPToolMetaContext
from agents.run_context import RunContextWrapper
from agents.tool import FunctionTool
from agents.tool_context import ToolContext
from agents.usage import Usage, deserialize_usage, serialize_usage
from dbos import DBOS, StepReservation
from mcp.types import CallToolResult, GetPromptResult, ListPromptsResult
from mcp.types import Tool as MCPTool
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseOutputItemDoneEvent,
)
from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from . import _names
from ._stream import StreamWriter, abandoned, attempt_key
from ._threads import tool_body

_OUTPUT_ITEM: TypeAdapter[Any] = TypeAdapter(cast(Any, TResponseOutputItem))


def _tagged_output_item() -> TypeAdapter[Any] | None:
    """The output-item union checked by its ``type`` tag (one member tried, not all of them).

    ``TResponseOutputItem`` is a union whose members each have a distinct literal ``type``;
    pydantic validates a plain union by trying every member. None when that shape is not there.
    """
    union: Any = TResponseOutputItem
    while get_origin(union) is Annotated:
        union = get_args(union)[0]
    members = get_args(union)
    try:
        tagged: Any = Annotated[Union.__getitem__(members), Field(discriminator="type")]
        return TypeAdapter(tagged)
    except Exception:  # pragma: no cover - an SDK whose union has no distinct type tags
        return None


_TAGGED_OUTPUT_ITEM = _tagged_output_item()


def load_output_item(item: Any) -> TResponseOutputItem:
    """One output item of a model step's checkpoint, validated as the SDK's union would."""
    if _TAGGED_OUTPUT_ITEM is not None:
        try:
            return cast(TResponseOutputItem, _TAGGED_OUTPUT_ITEM.validate_python(item))
        except ValidationError:
            pass  # the plain union raises the error users know (or accepts an odd item)
    return cast(TResponseOutputItem, _OUTPUT_ITEM.validate_python(item))


@dataclass
class SegmentContext:
    """What the wrappers need to know about the segment they run in."""

    run_id: str
    workflow_id: str
    reservations: dict[str, StepReservation] = field(default_factory=dict)
    emit: StreamWriter | None = None
    edited_arguments: dict[str, str] = field(default_factory=dict)
    """Arguments a human edited when approving, by call id: the tool step runs with these."""

    def reserve_calls(self, call_ids: list[str]) -> None:
        """Draw step ids now for tool calls that will run later (possibly in parallel)."""
        for call_id in call_ids:
            if call_id not in self.reservations:
                self.reservations[call_id] = DBOS.reserve_step()


current_segment: ContextVar[SegmentContext | None] = ContextVar(
    "timestep_durable_segment", default=None
)


def _active() -> SegmentContext | None:
    """The segment whose workflow code is running here (None inside a step or outside DBOS)."""
    seg = current_segment.get()
    if seg is None or DBOS.workflow_id != seg.workflow_id or DBOS.step_id is not None:
        return None
    return seg


def idempotency_key(ctx: ToolContext[Any] | str) -> str:
    """A key for de-duplicating a tool's side effect: identical across retries of the same call.

    ``ctx`` is the tool's ``ToolContext`` (or a call id). Inside a durable run the key is
    ``sha256("<run_id>:<call_id>")``; outside one, ``sha256(":<call_id>")``. A tool that charges a
    card or sends an email passes it to the downstream API (e.g. an ``Idempotency-Key`` header) or
    records it next to the side effect, so a second attempt after a crash is recognised.
    """
    call_id = ctx if isinstance(ctx, str) else ctx.tool_call_id
    seg = current_segment.get()
    run_id = seg.run_id if seg is not None else ""
    return hashlib.sha256(f"{run_id}:{call_id}".encode()).hexdigest()


# ---- JSON forms of step outputs ------------------------------------------------------------


def dump_model_response(response: ModelResponse) -> dict[str, Any]:
    """JSON form of a ModelResponse (the model step's checkpoint)."""
    return {
        "output": [item.model_dump(mode="json") for item in response.output],
        "usage": serialize_usage(response.usage),
        "response_id": response.response_id,
        "request_id": response.request_id,
    }


def load_model_response(data: dict[str, Any], usage: Usage | None = None) -> ModelResponse:
    """Rebuild a ModelResponse from :func:`dump_model_response`.

    ``usage``: the live call's own Usage (a step that ran here), else rebuilt from ``data``.
    """
    return ModelResponse(
        output=[load_output_item(item) for item in data["output"]],
        usage=usage if usage is not None else deserialize_usage(data["usage"]),
        response_id=data.get("response_id"),
        request_id=data.get("request_id"),
    )


def _dump_tool_output(output: Any) -> dict[str, Any]:
    if isinstance(output, str):
        return {"text": output}
    return {"json": to_jsonable_python(output, fallback=str)}


def _load_tool_output(data: dict[str, Any]) -> Any:
    return data["text"] if "text" in data else data.get("json")


def _call_ids(output: list[TResponseOutputItem]) -> list[str]:
    return [
        str(getattr(item, "call_id", ""))
        for item in output
        if getattr(item, "type", None) == "function_call"
    ]


# ---- models --------------------------------------------------------------------------------


class DurableModel(Model):
    """A Model whose calls are DBOS steps when running inside a segment."""

    def __init__(self, model: Model) -> None:
        self.model = model

    async def close(self) -> None:
        await self.model.close()

    def get_retry_advice(self, request: Any) -> Any:
        return self.model.get_retry_advice(request)

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        seg = _active()
        if seg is None:
            return await self.model.get_response(*args, **kwargs)

        live: list[Usage] = []

        async def call() -> dict[str, Any]:
            response = await self.model.get_response(*args, **kwargs)
            live.append(response.usage)
            return dump_model_response(response)

        data = await DBOS.run_step_async({"name": _names.MODEL_STEP}, call)
        # Output items always come from the checkpoint (a replay must see what the live run saw,
        # e.g. in the session items it writes); usage, which no item carries, from the call.
        response = load_model_response(data, live[-1] if live else None)
        seg.reserve_calls(_call_ids(response.output))
        return response

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        return self._stream(*args, **kwargs)

    async def _stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        seg = _active()
        if seg is None:
            async for event in self.model.stream_response(*args, **kwargs):
                yield event
            return
        reservation = DBOS.reserve_step()
        step = reservation.step_id
        live: asyncio.Queue[TResponseStreamEvent | None] = asyncio.Queue()
        emit = seg.emit

        async def call() -> dict[str, Any]:
            final: Response | None = None
            index = 0
            attempt = emit.begin_attempt(step) if emit is not None else 0
            try:
                async for event in self.model.stream_response(*args, **kwargs):
                    if emit is not None:
                        emit(_model_event(step, attempt, index, event))
                    index += 1
                    live.put_nowait(event)
                    if isinstance(event, ResponseCompletedEvent):
                        final = event.response
                if final is None:
                    raise ModelBehaviorError("the model stream ended without response.completed")
            except Exception as error:
                if emit is not None:
                    emit(abandoned(step, attempt, "failed", f"{type(error).__name__}: {error}"))
                raise
            live.put_nowait(None)
            return final.model_dump(mode="json")

        task = asyncio.ensure_future(
            reservation.run_async({"name": _names.MODEL_STREAM_STEP}, call)
        )
        delivered = False
        try:
            while True:
                getter = asyncio.ensure_future(live.get())
                await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                received = getter.result()
                if received is None:
                    break
                delivered = True
                yield received
            data = await task
        finally:
            if not task.done():
                task.cancel()
        response = Response.model_validate(data)
        if not delivered:  # replayed from the checkpoint: the model is not called again
            for index, item in enumerate(response.output):
                done = ResponseOutputItemDoneEvent(
                    type="response.output_item.done",
                    item=item,
                    output_index=index,
                    sequence_number=index,
                )
                yield done
            completed = ResponseCompletedEvent(
                type="response.completed",
                response=response,
                sequence_number=len(response.output),
            )
            if emit is not None:  # logged already unless the attempt's events were never written
                attempt = emit.last_attempt(step) or emit.begin_attempt(step)
                emit(_model_event(step, attempt, -1, completed))
            yield completed
        seg.reserve_calls(_call_ids(response.output))


def _model_event(step: int, attempt: int, index: int, event: Any) -> dict[str, Any]:
    kind = getattr(event, "type", "")
    suffix: str | int = "completed" if kind == "response.completed" else index
    return {
        "key": attempt_key(step, attempt, suffix),
        "type": "model_event",
        "step": step,
        "attempt": attempt,
        "event": to_jsonable_python(event, fallback=str),
    }


class DurableModelProvider(ModelProvider):
    """Wraps every model the inner provider returns in a :class:`DurableModel`."""

    def __init__(self, inner: ModelProvider) -> None:
        self.inner = inner

    def get_model(self, model_name: str | None) -> Model:
        model = self.inner.get_model(model_name)
        return model if isinstance(model, DurableModel) else DurableModel(model)

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---- tools and handoffs --------------------------------------------------------------------


def _wrap_tool(tool: FunctionTool, step_name: str | None = None) -> FunctionTool:
    original = tool.on_invoke_tool
    step_name = step_name or _names.tool_step(tool.name)

    async def invoke(ctx: ToolContext[Any], arguments: str) -> Any:
        seg = _active()
        if seg is None:
            with tool_body():
                return await original(ctx, arguments)
        call_id = ctx.tool_call_id
        edited = seg.edited_arguments.get(call_id)
        if edited is not None:  # a human edited them when approving: the tool gets these
            arguments = edited
            ctx.tool_arguments = edited
            ctx._function_tool_arguments = None  # the SDK prepared the model's arguments

        async def body() -> dict[str, Any]:
            with tool_body():
                output = await original(ctx, arguments)
            return _dump_tool_output(output)

        reservation = seg.reservations.pop(call_id, None)
        if reservation is not None:
            data = await reservation.run_async({"name": step_name}, body)
        else:
            data = await DBOS.run_step_async({"name": step_name}, body)
        output = _load_tool_output(data)
        if seg.emit is not None:
            seg.emit(
                {
                    "key": f"t{call_id}",
                    "type": "tool_output",
                    "call_id": call_id,
                    "tool": tool.name,
                    "output": data,
                }
            )
        return output

    # Evaluated annotations: the SDK reads them on every call to choose the context it passes
    # (a ToolContext here); string ones it would parse and evaluate each time.
    invoke.__annotations__ = {"ctx": ToolContext, "arguments": str, "return": Any}
    return dataclasses.replace(tool, on_invoke_tool=invoke)


class DurableMCPServer(MCPServer):
    """Delegates to the user's MCP server; checkpoints tool lists, sends idempotency keys.

    Every setting (approval policy, structured content, guardrails, ...) is read from the wrapped
    server. Inside a durable run, a tool call's request carries
    ``_meta["timestep/idempotency-key"]`` (merged over what the server's own
    ``tool_meta_resolver`` returns), identical across attempts of the same call.
    """

    def __init__(self, inner: MCPServer) -> None:  # settings live on ``inner``
        self.inner = inner
        self.tool_meta_resolver = self._resolve_meta

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _resolve_meta(self, context: MCPToolMetaContext) -> dict[str, Any] | None:
        meta: dict[str, Any] | None = None
        resolver = self.inner.tool_meta_resolver
        if resolver is not None:
            produced = resolver(context)
            meta = await produced if inspect.isawaitable(produced) else produced
        call_id = getattr(context.run_context, "tool_call_id", None)
        if not isinstance(call_id, str) or current_segment.get() is None:
            return meta
        return {**(meta or {}), _names.MCP_IDEMPOTENCY_META_KEY: idempotency_key(call_id)}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def cached_tools(self) -> list[MCPTool] | None:
        return self.inner.cached_tools

    async def connect(self) -> None:
        await cast(Any, self.inner).connect()

    async def cleanup(self) -> None:
        await cast(Any, self.inner).cleanup()

    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any = None
    ) -> list[MCPTool]:
        """The server's tools; inside a segment a checkpointed step, so a replay sees the same."""
        if _active() is None:
            return await self.inner.list_tools(run_context, agent)

        async def fetch() -> list[dict[str, Any]]:
            tools = await self.inner.list_tools(run_context, agent)
            return [
                tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools
            ]

        data = await DBOS.run_step_async({"name": _names.mcp_list_step(self.name)}, fetch)
        return [MCPTool.model_validate(item) for item in data]

    async def call_tool(
        self,
        tool_name: str,
        arguments: dict[str, Any] | None,
        meta: dict[str, Any] | None = None,
    ) -> CallToolResult:
        return await self.inner.call_tool(tool_name, arguments, meta=meta)

    async def list_prompts(self) -> ListPromptsResult:
        return await self.inner.list_prompts()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        return await self.inner.get_prompt(name, arguments)

    def _get_needs_approval_for_tool(self, tool: MCPTool, agent: Any) -> Any:
        return self.inner._get_needs_approval_for_tool(tool, agent)

    def _get_failure_error_function(self, agent_failure_error_function: Any) -> Any:
        return self.inner._get_failure_error_function(agent_failure_error_function)


def _wrap_mcp_tools(agent: Agent[Any]) -> None:
    """Make the function tools the SDK builds from ``agent``'s MCP servers checkpointed steps."""
    original = agent.get_mcp_tools

    async def get_mcp_tools(run_context: RunContextWrapper[Any]) -> list[Any]:
        return [
            _wrap_tool(t, _names.mcp_step(t.name)) if isinstance(t, FunctionTool) else t
            for t in await original(run_context)
        ]

    agent.get_mcp_tools = get_mcp_tools  # type: ignore[method-assign]


def _clone(agent: Agent[Any], changes: dict[str, Any]) -> Agent[Any]:
    """``agent.clone(**changes)``; for a plain ``Agent``, a copy of its fields with ``changes``.

    ``Agent.clone`` is ``dataclasses.replace``: it runs ``__init__`` and ``__post_init__`` again,
    which only check the fields and settle ``model_settings`` for the model. The fields of
    ``agent`` passed those checks already, and the changes keep their kinds (lists stay lists, a
    ``Model`` stays a ``Model``, so the settled ``model_settings`` stay equal): copying the fields
    gives an equal agent for a twentieth of the cost. Subclasses, whose ``__post_init__`` may do
    more, take the SDK's own path.
    """
    if type(agent) is not Agent:
        return agent.clone(**changes)
    clone: Agent[Any] = object.__new__(Agent)
    clone.__dict__.update(agent.__dict__)
    clone.__dict__.update(changes)
    return clone


class AgentGraph:
    """Durable clones of an agent graph, memoised by identity (cycles allowed) and by name."""

    def __init__(self) -> None:
        self._by_id: dict[int, Agent[Any]] = {}
        self.by_name: dict[str, Agent[Any]] = {}

    def wrap(self, agent: Agent[Any]) -> Agent[Any]:
        """The durable clone of ``agent`` (created once)."""
        if id(agent) in self._by_id:
            return self._by_id[id(agent)]
        if agent in self._by_id.values():
            return agent
        changes: dict[str, Any] = {
            "tools": [_wrap_tool(t) if isinstance(t, FunctionTool) else t for t in agent.tools],
            "handoffs": [],
        }
        if isinstance(agent.model, Model) and not isinstance(agent.model, DurableModel):
            changes["model"] = DurableModel(agent.model)
        if agent.mcp_servers:
            changes["mcp_servers"] = [
                s if isinstance(s, DurableMCPServer) else DurableMCPServer(s)
                for s in agent.mcp_servers
            ]
        clone = _clone(agent, changes)
        if clone.mcp_servers:
            _wrap_mcp_tools(clone)
        self._by_id[id(agent)] = clone
        self.by_name.setdefault(agent.name, clone)
        clone.handoffs = [
            self.wrap(h) if isinstance(h, Agent) else self._wrap_handoff(h) for h in agent.handoffs
        ]
        return clone

    def _wrap_handoff(self, handoff: Handoff[Any, Any]) -> Handoff[Any, Any]:
        original = handoff.on_invoke_handoff
        step_name = _names.handoff_step(handoff.tool_name)
        graph = self

        async def invoke(ctx: RunContextWrapper[Any], arguments: str) -> Agent[Any]:
            seg = _active()
            if seg is None:
                return graph.wrap(await original(ctx, arguments))
            produced: dict[str, Agent[Any]] = {}

            async def body() -> str:
                target = await original(ctx, arguments)
                produced[target.name] = target
                return str(target.name)

            name = str(await DBOS.run_step_async({"name": step_name}, body))
            if name in produced:
                return graph.wrap(produced[name])
            if name in graph.by_name:
                return graph.by_name[name]
            return graph.wrap(await original(ctx, arguments))

        return dataclasses.replace(handoff, on_invoke_handoff=invoke)


def wrap_agent(agent: Agent[Any]) -> tuple[Agent[Any], AgentGraph]:
    """Clone ``agent`` and everything reachable from it for a durable segment."""
    graph = AgentGraph()
    return graph.wrap(agent), graph
