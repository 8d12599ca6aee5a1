"""Durable stream events in one process: the reader's text algorithm, failed attempts, and
``attach_stream`` on runs that are unknown, not streamed, or cancelled mid-stream.

Crashes with real processes are in tests/durable/test_durable_stream_crash.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent
from agents.items import TResponseStreamEvent
from agents.testing import ScriptedModel, assistant_message
from openai.types.responses import ResponseTextDeltaEvent

from harness.cli_support import cli_env
from harness.counting import CallCounter
from harness.scripted import counting_tool, scripted_model, text_turn, tool_turn
from timestep import RunNotFoundError, RunNotStreamedError
from timestep.durable import (
    StreamText,
    attach_stream,
    cancel_run,
    run_durable,
    shutdown,
    stream_text,
)
from timestep.state import RunStateStore

# ---- the reader's algorithm on the shared vectors (the contract in docs/dev/contracts.md) ------

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "stream" / "reader.json").read_text())


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_stream_text_rebuilds_the_vector_logs(case: dict[str, Any]) -> None:
    text = StreamText()
    changes = [text.add(event) for event in case["events"]]
    assert text.text == case["text"]
    assert [[c.kind, c.text] for c in changes if c is not None] == case["changes"]
    assert [list(a) for a in text.abandoned] == case["abandoned"]
    assert stream_text(case["events"]) == case["text"]


def test_an_empty_log_has_no_text() -> None:
    assert stream_text([]) == ""


# ---- a running durable engine in this process ---------------------------------------------


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("stream") / "runs.db"
    yield f"sqlite:///{path}"
    shutdown()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    yield RunStateStore(store_url)


class _WordModel(ScriptedModel):
    """Streams its answer word by word (``pause`` s apart); raises after ``fail_after`` words."""

    def __init__(self, text: str, *, pause: float = 0.0, fail_after: int | None = None) -> None:
        super().__init__([[assistant_message(text)]])
        self.pause = pause
        self.fail_after = fail_after

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        async for event in super().stream_response(*args, **kwargs):
            if not isinstance(event, ResponseTextDeltaEvent):
                yield event
                continue
            for n, word in enumerate(event.delta.split(" ")):
                if n == self.fail_after:
                    raise ConnectionError("the model server hung up")
                await asyncio.sleep(self.pause)
                yield event.model_copy(update={"delta": word + " "})


async def test_a_failed_model_call_is_logged_as_an_abandoned_attempt(
    store: RunStateStore,
) -> None:
    agent = Agent(name="flaky", model=_WordModel("never said in full", fail_after=2))
    result = await run_durable(agent, "hi", run_id="s-failed", store=store, stream=True)
    with pytest.raises(ConnectionError):
        async for _event in result.stream_events():  # type: ignore[union-attr]
            pass
    log = [e async for e in attach_stream("s-failed", store=store, timeout=10)]
    kinds = [e["type"] for e in log]
    assert kinds[0] == "attempt_started" and kinds[-2:] == ["attempt_abandoned", "segment_end"]
    assert log[-2]["reason"] == "failed" and "hung up" in log[-2]["error"]
    assert log[-1]["status"] == "failed"
    assert stream_text(log) == ""  # the words of the failed call are taken back


async def test_model_steps_are_numbered_from_the_segments_first_step(
    store: RunStateStore,
) -> None:
    """Model, tool, model: the log's model steps are 1 and 3 (TypeScript's are the same,
    ``test_ts_stream_log_is_read_by_python``)."""
    calls = CallCounter()
    model = scripted_model(tool_turn("charge", {}), text_turn("done now"))
    agent = Agent(name="steps", model=model, tools=[counting_tool("charge", calls)])
    result = await run_durable(agent, "hi", run_id="s-steps", store=store, stream=True)
    async for _event in result.stream_events():  # type: ignore[union-attr]
        pass
    log = [e async for e in attach_stream("s-steps", store=store, timeout=10)]
    started = [e for e in log if e["type"] == "attempt_started"]
    assert [(e["step"], e["key"]) for e in started] == [(1, "m1.1:start"), (3, "m3.1:start")]


async def test_attach_raises_promptly_for_unknown_and_unstreamed_runs(
    store: RunStateStore,
) -> None:
    agent = Agent(name="quiet", model=ScriptedModel([[assistant_message("done quietly")]]))
    await run_durable(agent, "hi", run_id="s-quiet", store=store)
    started = time.monotonic()
    with pytest.raises(RunNotFoundError, match="s-unknown"):
        async for _event in attach_stream("s-unknown", store=store):
            pass
    with pytest.raises(RunNotStreamedError, match="s-quiet"):
        async for _event in attach_stream("s-quiet", store=store):
            pass
    # a run saved without durable execution is known, but has no stream either
    await store.save_json(
        "s-imported",
        (await store.get("s-quiet")).state_json or {},
        language="python",
        sdk_version="0.24.0",
        status="done",
    )
    with pytest.raises(RunNotStreamedError, match="s-imported"):
        async for _event in attach_stream("s-imported", store=store):
            pass
    assert time.monotonic() - started < 3


async def test_a_reader_of_a_run_cancelled_mid_stream_ends(store: RunStateStore) -> None:
    words = " ".join(f"w{n}" for n in range(60))
    agent = Agent(name="talker", model=_WordModel(words, pause=0.02))
    result = await run_durable(agent, "talk", run_id="s-cancel", store=store, stream=True)
    consumer = asyncio.ensure_future(_drain(result))
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        async for event in attach_stream("s-cancel", store=store):
            seen.append(event)
            if len(seen) == 5:
                assert await cancel_run("s-cancel", store=store)

    # no segment_end is ever written; the reader ends once the cancelled segment wrote its last
    # event (DBOS lets the model step in flight finish, so its words still arrive)
    await asyncio.wait_for(read(), 20)
    assert len(seen) >= 5 and not any(e["type"] == "segment_end" for e in seen)
    await asyncio.wait({consumer})


async def _drain(result: Any) -> None:
    async for _event in result.stream_events():
        pass


def flaky_cli_agent() -> Agent[Any]:
    """For ``timestep run test_durable_stream:flaky_cli_agent --stream`` (below)."""
    return Agent(name="flaky-cli", model=_WordModel("Hello there friend", fail_after=2))


def test_cli_run_stream_prints_from_the_durable_log(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "timestep.cli",
            "run",
            "test_durable_stream:flaky_cli_agent",
            "hi",
            "--stream",
            "--run-id",
            "cli-flaky",
        ],
        cwd=Path(__file__).parent,  # the agent's module; `harness` from tests/ on the path
        env={
            **cli_env(f"sqlite:///{tmp_path / 'cli.db'}"),
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path]),
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "Hello there "  # the words before the failure...
    # ...flagged as not part of any output, then the run's end and its error
    assert "[model call 1, attempt 1 failed (ConnectionError: the model server hung up)" in (
        proc.stderr
    )
    assert "[run failed: the model server hung up]" in proc.stderr
    assert proc.stderr.rstrip().endswith("ConnectionError: the model server hung up")
