"""Durable streams across crashes, with real processes killed by SIGKILL mid-delta.

The run's last model call streams its answer word by word and writes a different text on each
attempt (``retry_text`` scenario of tests/durable/test_durable_app.py). The consumer process dies
in its first attempt, the first worker in its second; a second worker finishes the run. Readers in
this process follow the log live across both crashes, re-attach from a cursor and replay it from
the start, and must all rebuild exactly the final output."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from starlette.testclient import TestClient
from test_durable_app import RETRY_TEXTS
from test_durable_crash import APP, Harness

from timestep import RunNotFoundError, RunNotStreamedError
from timestep.cli import main
from timestep.durable import StreamText, TextChange, attach_stream, stream_text
from timestep.runs import final_output
from timestep.server import create_app
from timestep.state import RunStateStore

pytestmark = pytest.mark.slow


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, scenario="retry_text")
    yield h
    h.stop()


def _start_run(h: Harness, run_id: str, crash: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, APP, "run", h.store_url, run_id, "--stream"],
        env=h.env(crash),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    h.procs.append(proc)
    return proc


async def _exit_code(proc: subprocess.Popen[bytes], timeout: float = 90) -> int:
    return await asyncio.to_thread(proc.wait, timeout)


async def _first_events(run_id: str, store: RunStateStore, count: int) -> list[dict[str, Any]]:
    """Attach as soon as the run exists and read its first ``count`` text deltas, then leave."""
    deadline = time.monotonic() + 60
    while True:
        try:
            got: list[dict[str, Any]] = []
            deltas = 0
            async for event in attach_stream(run_id, store=store, timeout=30):
                got.append(event)
                if event["type"] == "model_event" and "delta" in event["event"]:
                    deltas += 1
                    if deltas == count:
                        return got
            raise AssertionError(f"the stream of {run_id} ended after {deltas} deltas")
        except RunNotFoundError:  # the consumer process has not started its segment yet
            assert time.monotonic() < deadline, "the run never started"
            await asyncio.sleep(0.1)


async def test_retried_model_call_rebuilds_the_final_text_live_and_on_replay(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStateStore(harness.store_url)
    consumer = _start_run(harness, "r-retry", crash="delta:4")
    first = await _first_events("r-retry", store, 2)  # a reader that leaves mid-answer
    assert await _exit_code(consumer) == -signal.SIGKILL  # the consumer died before its 5th word

    live = StreamText()
    changes: list[TextChange] = []
    for event in first:
        change = live.add(event)
        if change is not None:
            changes.append(change)
    second: list[dict[str, Any]] = []

    async def follow() -> None:  # re-attaches from the cursor and follows both recoveries live
        async for event in attach_stream("r-retry", store=store, after=first[-1]["id"]):
            second.append(event)
            change = live.add(event)
            if change is not None:
                changes.append(change)

    reader = asyncio.create_task(follow())
    doomed = harness.start_worker(crash="delta:3")  # recovers, dies before the retry's 4th word
    assert await _exit_code(doomed) == -signal.SIGKILL
    assert not reader.done()  # the run's segment is PENDING: the reader waits for a worker
    harness.start_worker()
    await asyncio.wait_for(reader, 90)

    replay = [e async for e in attach_stream("r-retry", store=store)]
    stored = await store.get("r-retry")
    assert stored.status == "done"
    final = final_output(stored.state_json or {})
    assert final == RETRY_TEXTS[2]  # the third attempt's answer, shorter than the other two

    # everyone rebuilds exactly the final output: live across both crashes, from a cursor, replayed
    assert live.text == final
    assert stream_text(replay) == final
    assert stream_text(first + second) == final
    assert [e["id"] for e in first + second] == [e["id"] for e in replay]
    keys = [e["key"] for e in replay]
    assert len(keys) == len(set(keys))

    # the log says which attempts were abandoned, each just before its retry starts
    text_step = next(
        e["step"] for e in replay if e["type"] == "attempt_started" and e["attempt"] == 3
    )
    marks = [
        (e["type"], e["attempt"])
        for e in replay
        if e.get("step") == text_step and e["type"] in ("attempt_started", "attempt_abandoned")
    ]
    assert marks == [
        ("attempt_started", 1),
        ("attempt_abandoned", 1),
        ("attempt_started", 2),
        ("attempt_abandoned", 2),
        ("attempt_started", 3),
    ]
    assert all(e.get("reason") == "retried" for e in replay if e["type"] == "attempt_abandoned")
    words = [
        (e["attempt"], e["event"]["delta"])
        for e in replay
        if e["type"] == "model_event" and e["event"]["type"] == "response.output_text.delta"
    ]
    assert "".join(w for a, w in words if a == 1) == "The first attempt writes "
    assert "".join(w for a, w in words if a == 2) == "A second attempt, "
    assert "".join(w for a, w in words if a == 3) == final
    # the shorter retry keeps all its events (item done, completed), none lost to older keys
    retry = [
        e["event"]["type"]
        for e in replay
        if e["type"] == "model_event" and e["step"] == text_step and e["attempt"] == 3
    ]
    assert retry[-2:] == ["response.output_item.done", "response.completed"]

    # the live reader saw both attempts taken back, in order, then the final text
    retracts = [(c.attempt, c.text) for c in changes if c.kind == "retract"]
    assert retracts == [(1, "The first attempt writes "), (2, "A second attempt, ")]
    assert live.abandoned == [
        (replay[0]["segment"], text_step, 1),
        (replay[0]["segment"], text_step, 2),
    ]
    # the model really ran three times for that call, in three processes
    calls = [e for e in harness.events() if e["kind"] == "model" and e["turn"] == 1]
    assert len({e["pid"] for e in calls}) == 3

    # `timestep runs stream` replays it: both cut-off attempts are flagged, the answer ends it
    code, out, err = await asyncio.to_thread(
        _cli, capsys, harness.store_url, "runs", "stream", "r-retry"
    )
    assert code == 0, err
    assert out.splitlines() == ["The first attempt writes ", "A second attempt, ", final]
    assert (
        err.count("was cut off (its process stopped); a retry follows") == 2 and "[run done]" in err
    )
    code, out, _err = await asyncio.to_thread(
        _cli, capsys, harness.store_url, "runs", "stream", "r-retry", "--events"
    )
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [
        e["id"] for e in replay
    ]

    # the inbox's live view gets the same text, and which attempts were discarded
    sse = await asyncio.to_thread(_inbox_stream, store, "r-retry")
    assert sse[-1] == ("end", {"status": "done"})
    assert sse[-2][1]["text"] == final
    assert [(r["attempt"], r["reason"]) for r in sse[-2][1]["retried"]] == [
        (1, "retried"),
        (2, "retried"),
    ]
    assert "The first attempt writes " in [data.get("text") for _name, data in sse]


TOKEN = "stream-token-0123456789"


def _inbox_stream(store: RunStateStore, run_id: str) -> list[tuple[str, Any]]:
    """GET /api/runs/<run_id>/stream of the inbox: its server-sent events, or the error body."""
    with TestClient(create_app(store, token=TOKEN)) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with client.stream("GET", f"/api/runs/{run_id}/stream", headers=auth) as response:
            body = "".join(response.iter_text())
            if response.status_code != 200:
                return [(str(response.status_code), json.loads(body))]
    found: list[tuple[str, Any]] = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


def _cli(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--db", db, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_attach_to_unknown_or_unstreamed_run_fails_promptly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness(tmp_path, scenario="charges")
    try:
        assert h.run("r-plain", None) == 0  # a run in another process, without stream=True
        store = RunStateStore(h.store_url)
        started = time.monotonic()
        with pytest.raises(RunNotFoundError, match="no-such-run"):
            async for _event in attach_stream("no-such-run", store=store):
                pass
        with pytest.raises(RunNotStreamedError, match="r-plain"):
            async for _event in attach_stream("r-plain", store=store):
                pass
        assert time.monotonic() - started < 5
        code, _out, err = await asyncio.to_thread(
            _cli, capsys, h.store_url, "runs", "stream", "r-plain"
        )
        assert code == 1 and "r-plain" in err and "stream=True" in err
        assert await asyncio.to_thread(_inbox_stream, store, "r-plain") == [
            ("409", {"error": "not_streamed", "message": ANY})
        ]
        missing = await asyncio.to_thread(_inbox_stream, store, "no-such-run")
        assert missing[0][0] == "404" and missing[0][1]["error"] == "not_found"
    finally:
        h.stop()


async def test_postgres_stream_survives_a_killed_consumer(
    postgres_db_url: str, tmp_path: Path
) -> None:
    h = Harness(tmp_path, scenario="retry_text")
    h.store_url = postgres_db_url  # store and DBOS system database (schema dbos) in one database
    try:
        store = RunStateStore(postgres_db_url)
        consumer = _start_run(h, "pg-retry", crash="delta:4")
        first = await _first_events("pg-retry", store, 1)
        assert await _exit_code(consumer) == -signal.SIGKILL
        h.start_worker()  # executor "local" again: recovers the dead one's segment on launch
        rest = [e async for e in attach_stream("pg-retry", store=store, after=first[-1]["id"])]
        stored = await store.get("pg-retry")
        final = final_output(stored.state_json or {})
        assert stored.status == "done" and final == RETRY_TEXTS[1]
        log = first + rest
        assert [e["id"] for e in log] == sorted({e["id"] for e in log})
        assert stream_text(log) == final
        assert [e["attempt"] for e in log if e["type"] == "attempt_abandoned"] == [1]
        with pytest.raises(RunNotFoundError):
            async for _event in attach_stream("pg-nothing", store=store):
                pass
    finally:
        h.stop()
