"""Sessions in durable runs: history read once in a step, new items written once at the end."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message
from test_durable_crash import Harness, _counts

from timestep.durable import _names, run_durable, shutdown, system_database_url
from timestep.state import RunStateStore, open_session


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'runs.db'}"
    shutdown()


def _step_names(store_url: str, workflow_id: str) -> list[str]:
    engine = sa.create_engine(system_database_url(store_url))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT function_name FROM operation_outputs WHERE workflow_uuid = :w "
                "ORDER BY function_id"
            ),
            {"w": workflow_id},
        ).all()
    engine.dispose()
    return [str(r[0]) for r in rows]


def _texts(items: Any) -> list[str]:
    """The message texts of a list of input items, in order."""
    out: list[str] = []
    for item in items:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(str(c.get("text")) for c in content if isinstance(c, dict))
    return out


def test_session_step_names_are_pinned() -> None:
    assert _names.SESSION_READ_STEP == "timestep.session.read"
    assert _names.SESSION_WRITE_STEP == "timestep.session.write"


async def test_second_durable_run_sees_the_first_runs_history(store_url: str) -> None:
    store = RunStateStore(store_url)
    first = Agent(name="chat-1", model=ScriptedModel([[assistant_message("hello Ada")]]))
    await run_durable(
        first, "I am Ada", run_id="s-run-1", store=store, session=open_session("conv", db=store_url)
    )
    seen: list[ModelCall] = []

    def respond(call: ModelCall) -> Any:
        seen.append(call)
        return [assistant_message("you are Ada")]

    second = Agent(name="chat-2", model=ScriptedModel([ModelStep.respond(respond)]))
    session = open_session("conv", db=store_url)
    result = await run_durable(second, "who am I?", run_id="s-run-2", store=store, session=session)
    assert result.final_output == "you are Ada"
    assert _texts(seen[0].input) == ["I am Ada", "hello Ada", "who am I?"]
    assert _texts(await session.get_items()) == [
        "I am Ada",
        "hello Ada",
        "who am I?",
        "you are Ada",
    ]
    assert _step_names(store_url, _names.segment_id("s-run-2", 0)) == [
        "timestep.session.read",
        "timestep.model.get_response",
        "timestep.session.write",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("crash", ["session", "model:2"])
async def test_crash_and_recovery_leave_no_duplicated_session_items(
    tmp_path: Path, crash: str
) -> None:
    h = Harness(tmp_path)
    session = open_session("conv", db=h.store_url)
    await session.add_items([{"role": "user", "content": "earlier"}])
    try:
        assert h.run("r-sess", crash, "--session", "conv") == -signal.SIGKILL
        h.start_worker()
        await h.wait_status("r-sess", "done")
        models, tools, _keys = _counts(h.events())
        assert tools == Counter({"call_0": 1, "call_1": 1, "call_2": 1})
        assert models[0] == 1 and models[3] == 1
        items: list[dict[str, Any]] = [dict(i) for i in await session.get_items()]
        # the earlier item, this run's input, 3 calls + 3 outputs, the answer: each once
        assert _texts(items) == ["earlier", "pay", "charged 3 times"]
        kinds = Counter(str(i.get("type", "message")) for i in items)
        assert kinds == Counter({"message": 3, "function_call": 3, "function_call_output": 3})
        calls = [i["call_id"] for i in items if i.get("type") == "function_call"]
        assert calls == ["call_0", "call_1", "call_2"]
        # the model saw the session's history before this run's input
        first = [e for e in h.events() if e["kind"] == "model" and e["turn"] == 0]
        assert len(first) == 1
        stored = await RunStateStore(h.store_url).get("r-sess")
        assert json.dumps(stored.state_json).count('"earlier"') >= 1
    finally:
        h.stop()
