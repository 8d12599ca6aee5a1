"""Durable approvals: decisions recorded with an audit trail, typed errors, races, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext

from timestep import RunNotFoundError
from timestep._errors import (
    ApprovalAlreadyDecidedError,
    ConfigurationError,
    RunNotWaitingError,
    UnknownCallError,
)
from timestep.durable import answer, approve, reject, resume, run_durable, shutdown
from timestep.state import RunStateStore

executed: list[str] = []
#: (call id, the order argument, ctx.tool_arguments) of every refund that ran
received: list[tuple[str, int, str]] = []
#: the input of every model call (to check what the model was shown)
model_inputs: list[list[Any]] = []


@function_tool(needs_approval=True)
async def refund(ctx: ToolContext[Any], order: int) -> str:
    """Refund an order."""
    executed.append(ctx.tool_call_id)
    received.append((ctx.tool_call_id, order, ctx.tool_arguments))
    return f"refunded {order}"


def _respond(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    model_inputs.append(list(items))
    outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
    if not outputs:
        return [function_call("refund", {"order": 42}, call_id="call_r")]
    return [assistant_message(f"tool said: {outputs[-1].get('output')}")]


def _agent() -> Agent[Any]:
    model = ScriptedModel([ModelStep.respond(_respond) for _ in range(20)])
    return Agent(name="refunder", model=model, tools=[refund])


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('approvals') / 'runs.db'}"
    shutdown()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    yield RunStateStore(store_url)


async def _paused(store: RunStateStore, run_id: str) -> None:
    result = await run_durable(_agent(), "refund order 42", run_id=run_id, store=store)
    assert [i.name for i in result.interruptions] == ["refund"]
    stored = await store.get(run_id)
    assert stored.status == "waiting"
    assert [p.call_id for p in stored.pending_approvals] == ["call_r"]


def _decisions(store: RunStateStore, run_id: str) -> list[tuple[Any, ...]]:
    with sa.create_engine(store.target).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT call_id, decision, reason, decided_by, state_version "
                "FROM timestep_approvals WHERE run_id = :r ORDER BY id"
            ),
            {"r": run_id},
        ).all()
    return [tuple(r) for r in rows]


async def test_approve_then_resume_runs_the_tool_once(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "ap-1")
    assert executed == []
    with pytest.raises(UnknownCallError):
        await approve("ap-1", "call_nope", by="alice", store=store)
    assert _decisions(store, "ap-1") == []  # the failed call changed nothing
    decision = await approve("ap-1", "call_r", by="alice", store=store)
    assert (decision.call_id, decision.state_version, decision.all_decided) == ("call_r", 1, True)
    with pytest.raises(ApprovalAlreadyDecidedError):
        await reject("ap-1", "call_r", reason="changed my mind", store=store)
    assert _decisions(store, "ap-1") == [("call_r", "approve", None, "alice", 1)]
    result = await resume("ap-1", store=store, agent=_agent())
    assert result is not None and result.final_output == "tool said: refunded 42"
    assert executed == ["call_r"]
    assert [v.status for v in await store.versions("ap-1")] == ["running", "waiting", "done"]
    with pytest.raises(RunNotWaitingError):
        await approve("ap-1", "call_r", store=store)
    with pytest.raises(RunNotFoundError):
        await approve("no-such-run", "call_r", store=store)


async def test_reject_sends_the_reason_and_skips_the_tool(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "rj-1")
    await reject("rj-1", reason="not allowed", by="bob", store=store)
    result = await resume("rj-1", store=store, agent=_agent())
    assert result is not None and result.final_output == "tool said: not allowed"
    assert executed == []
    assert _decisions(store, "rj-1") == [("call_r", "reject", "not allowed", "bob", 1)]


async def test_racing_approvals_exactly_one_wins(store: RunStateStore) -> None:
    for n in range(3):
        run_id = f"race-{n}"
        await _paused(store, run_id)
        outcomes = await asyncio.gather(
            approve(run_id, "call_r", by="a", store=store),
            reject(run_id, "call_r", reason="no", by="b", store=store),
            approve(run_id, "call_r", by="c", store=store),
            return_exceptions=True,
        )
        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        losses = [o for o in outcomes if isinstance(o, ApprovalAlreadyDecidedError)]
        assert len(wins) == 1 and len(losses) == 2
        assert len(_decisions(store, run_id)) == 1


async def test_approve_without_call_id_on_a_decided_call_is_already_decided(
    store: RunStateStore,
) -> None:
    await _paused(store, "dd-1")
    await approve("dd-1", by="alice", store=store)
    with pytest.raises(ApprovalAlreadyDecidedError, match="already decided"):
        await approve("dd-1", by="bob", store=store)
    with pytest.raises(ApprovalAlreadyDecidedError):
        await reject("dd-1", by="bob", store=store)
    assert _decisions(store, "dd-1") == [("call_r", "approve", None, "alice", 1)]


async def test_racing_resumes_exactly_one_wins(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "rr-1")
    await approve("rr-1", store=store)
    outcomes = await asyncio.gather(
        resume("rr-1", store=store, agent=_agent()),
        resume("rr-1", store=store, agent=_agent()),
        return_exceptions=True,
    )
    assert sum(1 for o in outcomes if isinstance(o, RunNotWaitingError)) == 1
    assert executed == ["call_r"]
    assert (await store.get("rr-1")).status == "done"


def _edits(store: RunStateStore, run_id: str) -> list[tuple[Any, ...]]:
    with sa.create_engine(store.target).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT decision, arguments, original_arguments, output "
                "FROM timestep_approvals WHERE run_id = :r ORDER BY id"
            ),
            {"r": run_id},
        ).all()
    return [tuple(r) for r in rows]


def _calls_and_outputs(items: list[Any]) -> list[tuple[Any, Any]]:
    return [
        (i["type"], i.get("arguments") or i.get("output"))
        for i in items
        if isinstance(i, dict) and i.get("type") in ("function_call", "function_call_output")
    ]


async def test_approve_with_edited_arguments_runs_the_tool_with_them(
    store: RunStateStore,
) -> None:
    received.clear()
    await _paused(store, "ed-1")
    decision = await approve(
        "ed-1", "call_r", arguments={"order": 7}, by="alice", reason="wrong order", store=store
    )
    assert decision.arguments == '{"order":7}' and decision.decision == "approve"
    assert _edits(store, "ed-1") == [("approve", '{"order":7}', '{"order":42}', None)]
    model_inputs.clear()
    result = await resume("ed-1", store=store, agent=_agent())
    assert result is not None and result.final_output == "tool said: refunded 7"
    # the tool got the edited arguments (parsed, and as ctx.tool_arguments), once
    assert received == [("call_r", 7, '{"order":7}')]
    # the model's history keeps its own call, followed by the edited call's output
    assert _calls_and_outputs(model_inputs[-1]) == [
        ("function_call", '{"order":42}'),
        ("function_call_output", "refunded 7"),
    ]


async def test_answer_gives_the_model_the_text_and_never_runs_the_tool(
    store: RunStateStore,
) -> None:
    received.clear()
    await _paused(store, "an-1")
    decision = await answer(
        "an-1", output="order 42 was refunded by phone", by="carol", store=store
    )
    assert (decision.decision, decision.output) == ("answer", "order 42 was refunded by phone")
    with pytest.raises(ApprovalAlreadyDecidedError, match="already answered by carol"):
        await approve("an-1", "call_r", store=store)
    assert _decisions(store, "an-1") == [("call_r", "answer", None, "carol", 1)]
    assert _edits(store, "an-1") == [("answer", None, None, "order 42 was refunded by phone")]
    model_inputs.clear()
    result = await resume("an-1", store=store, agent=_agent())
    assert result is not None
    assert result.final_output == "tool said: order 42 was refunded by phone"
    assert received == []
    assert _calls_and_outputs(model_inputs[-1])[-1] == (
        "function_call_output",
        "order 42 was refunded by phone",
    )


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ([1], "must be a JSON object, not list"),
        ("42", "must be a JSON object, not int"),
    ],
)
async def test_edited_arguments_must_be_a_json_object(
    store: RunStateStore, arguments: Any, match: str
) -> None:
    run_id = f"bad-{abs(hash(str(arguments))) % 10_000}"
    await _paused(store, run_id)
    with pytest.raises(ConfigurationError, match=match):
        await approve(run_id, arguments=arguments, store=store)
    with pytest.raises(ConfigurationError, match="cannot be combined with always"):
        await approve(run_id, arguments={"order": 1}, always=True, store=store)
    assert _decisions(store, run_id) == []
    # the JSON text of an object is accepted as well as a dict
    decided = await approve(run_id, arguments='{"order": 5}', store=store)
    assert decided.arguments == '{"order":5}'


async def test_answer_needs_text(store: RunStateStore) -> None:
    await _paused(store, "an-2")
    with pytest.raises(ConfigurationError, match="needs output"):
        await answer("an-2", output=None, store=store)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown decision"):
        await store.decide("an-2", None, "ignore")  # type: ignore[arg-type]
    assert _decisions(store, "an-2") == []
