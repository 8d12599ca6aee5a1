"""Small helpers over the SDK's ``agents.testing.ScriptedModel`` and tools that count their runs.

Turns::

    model = scripted_model(
        tool_turn("refund", {"order_id": "42"}),       # the model calls one tool
        text_turn("Refunded."),                        # then answers
    )

Counting tools: ``CallCounter`` (in memory) and ``FileCounter`` (a JSON-lines file, shared by
processes, so a durability test can count how often a tool really ran across a crash) live in
``harness.counting``, which child processes can import without loading the SDK::

    counter = FileCounter(tmp_path / "runs.jsonl")
    refund = function_tool(counter.counting(refund_impl))   # or counting_tool("refund", counter)
    ...
    assert counter.count("refund_impl") == 1
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agents import Agent, FunctionTool, Usage, function_tool
from agents.items import TResponseOutputItem
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext

__all__ = [
    "CallCounter",
    "Counter",
    "FileCounter",
    "ToolRun",
    "counting_tool",
    "default_call_id",
    "error_turn",
    "scripted_model",
    "text_turn",
    "tool_turn",
    "tools_turn",
]

from .counting import CallCounter, Counter, FileCounter, ToolRun, _args_text, default_call_id

# ------------------------------------------------------------------------------------ turns


def text_turn(text: str, *, item_id: str | None = None, usage: Usage | None = None) -> ModelStep:
    """A model turn that answers with text."""
    item_id = item_id or "msg_" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return ModelStep(output=[assistant_message(text, item_id=item_id)], usage=usage or Usage())


def tool_turn(
    name: str,
    arguments: str | Mapping[str, Any] | None = None,
    *,
    call_id: str | None = None,
    text: str | None = None,
    usage: Usage | None = None,
) -> ModelStep:
    """A model turn that calls one function tool (optionally after some text)."""
    return tools_turn((name, arguments, call_id), text=text, usage=usage)


ToolCallSpec = (
    tuple[str, str | Mapping[str, Any] | None]
    | tuple[str, str | Mapping[str, Any] | None, str | None]
)


def tools_turn(
    *calls: ToolCallSpec, text: str | None = None, usage: Usage | None = None
) -> ModelStep:
    """A model turn with several function calls: ``(name, args)`` or ``(name, args, call_id)``."""
    output: list[TResponseOutputItem] = []
    if text is not None:
        output.append(
            assistant_message(text, item_id="msg_" + hashlib.sha256(text.encode()).hexdigest()[:12])
        )
    for spec in calls:
        name, arguments, *rest = spec
        call_id = rest[0] if rest else None
        output.append(
            function_call(
                name, _args_text(arguments), call_id=call_id or default_call_id(name, arguments)
            )
        )
    return ModelStep(output=output, usage=usage or Usage())


def error_turn(error: Exception) -> ModelStep:
    """A model turn that raises ``error`` from the model call."""
    return ModelStep.raise_error(error)


def scripted_model(*turns: ModelStep) -> ScriptedModel:
    """A ``ScriptedModel`` playing ``turns`` in order (streamed or not)."""
    return ScriptedModel(turns)


# --------------------------------------------------------------------------- counting tool


def counting_tool(
    name: str,
    counter: Counter,
    *,
    result: str | Callable[[dict[str, Any]], Any | Awaitable[Any]] = "ok",
    description: str | None = None,
    params_json_schema: dict[str, Any] | None = None,
    needs_approval: bool = False,
) -> FunctionTool:
    """A function tool that records each execution in ``counter`` and returns ``result``.

    ``result`` is a fixed string or a (sync or async) function of the parsed arguments. Without
    ``params_json_schema`` the tool accepts any JSON object.
    """

    async def invoke(ctx: ToolContext[Any], args_json: str) -> Any:
        arguments = json.loads(args_json) if args_json.strip() else {}
        counter.record(name, arguments)
        if isinstance(result, str):
            return result
        value = result(arguments)
        if inspect.isawaitable(value):
            value = await value
        return value

    schema = params_json_schema or {
        "type": "object",
        "properties": {},
        "additionalProperties": True,
    }
    return FunctionTool(
        name=name,
        description=description or f"Test tool {name}.",
        params_json_schema=schema,
        on_invoke_tool=invoke,
        strict_json_schema=False,
        needs_approval=needs_approval,
    )


def _add(n: int) -> str:
    """Add one."""
    return str(n + 1)


def adder_agent(turns: int) -> Agent[Any]:
    """An agent calling its ``add`` tool ``turns`` times (ids ``call_0``...), then saying done."""
    script = [tool_turn("add", {"n": n}, call_id=f"call_{n}") for n in range(turns)]
    add = function_tool(_add, name_override="add")
    return Agent(name="adder", model=scripted_model(*script, text_turn("done")), tools=[add])
