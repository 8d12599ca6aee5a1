"""Durable stream events in one process: the reader's text algorithm, failed attempts, and
``attach_stream`` on runs that are unknown, not streamed, or cancelled mid-stream.

Crashes with real processes are in tests/test_durable_stream_crash.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import Agent
from agents.items import TResponseStreamEvent
from agents.testing import ScriptedModel, assistant_message
from openai.types.responses import ResponseTextDeltaEvent

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

# ---- the reader's algorithm on hand-written logs (the contract in docs/dev/contracts.md) -----


def _start(step: int, attempt: int, segment: str = "r@0") -> dict[str, Any]:
    return {"type": "attempt_started", "segment": segment, "step": step, "attempt": attempt}


def _delta(step: int, attempt: int, text: str, segment: str = "r@0") -> dict[str, Any]:
    return {
        "type": "model_event",
        "segment": segment,
        "step": step,
        "attempt": attempt,
        "event": {"type": "response.output_text.delta", "delta": text},
    }


def _abandon(step: int, attempt: int, segment: str = "r@0") -> dict[str, Any]:
    return {
        "type": "attempt_abandoned",
        "segment": segment,
        "step": step,
        "attempt": attempt,
        "reason": "retried",
    }


def test_an_abandoned_attempt_is_taken_back_and_the_retry_replaces_it() -> None:
    log = [
        _start(1, 1),
        _delta(1, 1, "Let me "),
        {"type": "tool_output", "segment": "r@0", "call_id": "c1", "output": {"text": "x"}},
        _start(3, 1),
        _delta(3, 1, "The long "),
        _delta(3, 1, "answer "),
        _abandon(3, 1),
        _start(3, 2),
        _delta(3, 2, "Short."),
    ]
    text = StreamText()
    changes = [text.add(e) for e in log]
    assert text.text == "Let me Short."
    assert [(c.kind, c.text) for c in changes if c is not None] == [
        ("append", "Let me "),
        ("append", "The long "),
        ("append", "answer "),
        ("retract", "The long answer "),
        ("append", "Short."),
    ]
    assert text.abandoned == [("r@0", 3, 1)]


def test_late_events_of_a_replaced_attempt_and_a_missing_abandon_event() -> None:
    log = [
        _start(2, 1),
        _delta(2, 1, "old "),
        _start(2, 2),  # a writer that logged no abandon event: the retry replaces attempt 1
        _delta(2, 2, "new"),
        _delta(2, 1, "zombie "),  # the old attempt's process still wrote something: ignored
        _abandon(2, 1),  # and a late abandon of it changes nothing
    ]
    text = StreamText()
    changes = [text.add(e) for e in log]
    assert text.text == "new"
    assert [c.kind for c in changes if c is not None] == ["append", "retract", "append"]
    assert text.abandoned == [("r@0", 2, 1)]


def test_steps_of_later_segments_follow_and_old_logs_without_attempts_read() -> None:
    old = {  # a log written before attempts existed: no attempt field, one attempt per step
        "type": "model_event",
        "segment": "r@0",
        "step": 1,
        "event": {"type": "response.output_text.delta", "delta": "A"},
    }
    assert stream_text([old, _start(1, 1, "r@1"), _delta(1, 1, "B", "r@1")]) == "AB"
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

    async def stream_response(  # type: ignore[override]
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
