"""The store's faster state serialisation writes exactly what the SDK's own code writes.

Two paths: ``state_json`` (``RunState.to_json`` serialising each run item once) and the wrapped
``rebase_nested_history_owned_item_refs`` (``RunResult.to_state`` skipping the items' digests
when no nested-history refs are owned).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from agents import Agent, RunConfig, Runner, RunState, UserError, function_tool
from agents.items import MessageOutputItem
from agents.run_internal import items as run_items
from agents.run_internal.items import NestedHistoryOwnedItemRef, digest_input_item
from agents.testing import ScriptedModel, assistant_message, function_call
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.refund_agent import build_agent, start_model
from timestep.state import _store  # noqa: F401  (importing the store installs the paths)
from timestep.state._nested_refs import ORIGINALS
from timestep.state._state_json import state_json


@function_tool
def add(n: int) -> str:
    """Add one."""
    return str(n + 1)


async def _tools_run() -> Any:
    """Four tool calls, each answered, then a message: every item is in two lists."""
    turns = [[function_call("add", {"n": n}, call_id=f"call_{n}")] for n in range(4)]
    model = ScriptedModel([*turns, [assistant_message("done")]])
    return await Runner.run(Agent(name="adder", model=model, tools=[add]), "go")


async def _paused_run() -> Any:
    """Paused on an approval: the last processed response holds the items a third time."""
    return await Runner.run(build_agent(start_model()), "Refund order 42")


async def _nested_history_run() -> Any:
    """A handoff with nested history: the result owns nested-history refs (the SDK's path)."""
    target = Agent(name="billing", model=ScriptedModel([[assistant_message("billed")]]))
    handing = function_call("transfer_to_billing", {}, call_id="c1")
    first = [assistant_message("passing on"), handing]
    triage = Agent(name="triage", model=ScriptedModel([first]), handoffs=[target])
    result = await Runner.run(triage, "go", run_config=RunConfig(nest_handoff_history=True))
    assert result._nested_history_owned_session_item_refs  # the case the wrapper hands over
    return result


async def _streamed_run() -> Any:
    turns = [[function_call("add", {"n": 1}, call_id="call_s")], [assistant_message("done")]]
    result = Runner.run_streamed(Agent(name="s", model=ScriptedModel(turns), tools=[add]), "go")
    async for _ in result.stream_events():
        pass
    return result


RUNS: dict[str, Callable[[], Awaitable[Any]]] = {
    "tools": _tools_run,
    "paused": _paused_run,
    "nested history": _nested_history_run,
    "streamed": _streamed_run,
}


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def test_the_sdk_rebase_is_wrapped() -> None:
    import agents.result as result_module

    assert set(ORIGINALS) == {"rebase_nested_history_owned_item_refs"}
    for module in (run_items, result_module):
        assert (
            module.rebase_nested_history_owned_item_refs
            is not ORIGINALS["rebase_nested_history_owned_item_refs"]
        )


@pytest.mark.parametrize("kind", list(RUNS))
async def test_the_state_document_is_the_sdks(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = await RUNS[kind]()
    fast_state = result.to_state()
    fast = _text(state_json(fast_state))
    assert "_serialize_item" not in vars(fast_state)  # nothing left on the state
    assert fast == _text(fast_state.to_json())
    import agents.result as result_module

    original = ORIGINALS["rebase_nested_history_owned_item_refs"]
    for module in (run_items, result_module):
        monkeypatch.setattr(module, "rebase_nested_history_owned_item_refs", original)
    slow_state = result.to_state()
    assert _text(slow_state.to_json()) == fast
    if kind in ("tools", "streamed"):  # the items the memo serialises once are in both lists
        document = json.loads(fast)
        assert document["session_items"] == document["generated_items"] != []


async def test_a_loaded_state_serialises_the_same() -> None:
    """A state read back from JSON holds distinct item objects per list: no sharing assumed."""
    result = await _paused_run()
    agent = build_agent(start_model())
    loaded = await RunState.from_json(agent, result.to_state().to_json())
    assert _text(state_json(loaded)) == _text(loaded.to_json())


async def test_the_sdk_error_passes_through_and_the_state_is_left_clean() -> None:
    result = await _tools_run()
    state = result.to_state()
    state._current_agent = None
    with pytest.raises(UserError, match="No current agent"):
        state_json(state)
    assert "_serialize_item" not in vars(state)


_TEXTS = st.sampled_from(["a", "b", "hello", "same"])


@st.composite
def _rebase_cases(draw: st.DrawFn) -> tuple[list[Any], list[Any], list[Any]]:
    """Inputs, session items and refs: the inputs hold user messages and the session items' own
    input forms, so refs point at digests that match an item, at ones that match none, and at
    wrong indexes."""
    items = [_message(text) for text in draw(st.lists(_TEXTS, max_size=5))]
    inputs: list[Any] = [{"role": "user", "content": text} for text in draw(st.lists(_TEXTS))]
    for own in items:
        if draw(st.booleans()):
            inputs.append(own.to_input_item())
    inputs = draw(st.permutations(inputs))
    refs = []
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(inputs))) if inputs else 0
        source = inputs[index] if index < len(inputs) else {"role": "user"}
        digest = digest_input_item(source) or "none"
        owned = draw(st.booleans())
        owner = draw(st.sampled_from(items)) if items and owned else None
        refs.append(NestedHistoryOwnedItemRef(draw(st.integers(0, 4)), digest, index, owner))
    return inputs, items, refs


@settings(max_examples=200, deadline=None)
@given(_rebase_cases())
def test_the_rebase_answers_as_the_sdk(case: tuple[list[Any], list[Any], list[Any]]) -> None:
    inputs, items, refs = case
    fast = run_items.rebase_nested_history_owned_item_refs(inputs, items, refs)
    slow = ORIGINALS["rebase_nested_history_owned_item_refs"](inputs, items, refs)
    assert fast == slow
    assert [id(ref.run_item) for ref in fast] == [id(ref.run_item) for ref in slow]


def _message(text: str) -> MessageOutputItem:
    return MessageOutputItem(agent=Agent(name="x"), raw_item=cast(Any, assistant_message(text)))


def test_a_matching_ref_is_rebased_by_the_sdk() -> None:
    """A ref whose input and session occurrence match survives, onto its session item."""
    items = [_message("a"), _message("b")]
    inputs: list[Any] = [{"role": "user", "content": "go"}, items[1].to_input_item()]
    ref = NestedHistoryOwnedItemRef(0, digest_input_item(inputs[1]) or "", 1, items[1])
    rebased = run_items.rebase_nested_history_owned_item_refs(inputs, items, [ref])
    assert [(r.session_index, r.input_index) for r in rebased] == [(1, 1)]
    assert rebased[0].run_item is items[1]
