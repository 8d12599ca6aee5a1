"""``timestep worker`` processes tune the cyclic garbage collector (``$TIMESTEP_WORKER_GC``).

A ready worker freezes what start-up loaded and collects gen 0 every ``TIMESTEP_WORKER_GC`` net
allocations (default 200,000; 0 keeps Python's settings). A real worker process runs a queued run
whose tool reports the collector's settings from inside that process; a bad value (of this or of
the thread settings) is refused before the worker starts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli_support import cli_env
from harness.processes import start_worker, stop_process
from timestep import ConfigurationError
from timestep.cli import _gc

MODULE = "timestep_gc_agents"

SOURCE = '''
"""An agent whose tool writes the garbage collector's settings of the process it runs in."""

import gc
import json
import os

from agents import Agent, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call


@function_tool
def gc_settings() -> str:
    """Report the collector's settings."""
    report = {"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
    path = os.environ["TIMESTEP_TEST_REPORT"]
    with open(path + ".tmp", "w") as out:
        json.dump(report, out)
    os.replace(path + ".tmp", path)  # the test sees the whole file or none
    return "reported"


def reporter() -> Agent:
    script = [[function_call("gc_settings", {}, call_id="call-gc")], [assistant_message("done")]]
    return Agent(name="reporter", tools=[gc_settings], model=ScriptedModel(script))
'''


async def _enqueue(db_url: str, run_id: str) -> None:
    from timestep.durable import enqueue_run
    from timestep.state import RunStateStore

    async with RunStateStore(db_url) as store:
        await enqueue_run("reporter", "report", run_id=run_id, store=store, max_turns=4)


def _worker_settings(tmp_path: Path, gc_env: str | None) -> dict[str, list[int] | int]:
    """The collector's settings inside a real worker process, read by a queued run's tool."""
    (tmp_path / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'gc.db'}"
    report = tmp_path / "report.json"
    env = {**cli_env(db_url), "TIMESTEP_TEST_REPORT": str(report)}
    env["TIMESTEP_LOG_FILE"] = str(tmp_path / "worker.log")
    env.pop("TIMESTEP_WORKER_GC", None)
    if gc_env is not None:
        env["TIMESTEP_WORKER_GC"] = gc_env
    process = start_worker(tmp_path, env, f"{MODULE}:reporter")
    try:
        deadline = time.monotonic() + 180
        asyncio.run(_enqueue(db_url, "gc-1"))
        while not report.exists():
            assert time.monotonic() < deadline, "the queued run never reported"
            assert process.poll() is None, "the worker exited"
            time.sleep(0.1)
        settings: dict[str, list[int] | int] = json.loads(report.read_text(encoding="utf-8"))
        return settings
    finally:
        stop_process(process)


@pytest.mark.parametrize(("gc_env", "gen0"), [(None, _gc.DEFAULT_WORKER_GC), ("30000", 30000)])
def test_a_worker_freezes_start_up_and_raises_the_gen0_threshold(
    tmp_path: Path, gc_env: str | None, gen0: int
) -> None:
    settings = _worker_settings(tmp_path, gc_env)
    threshold = settings["threshold"]
    assert isinstance(threshold, list) and threshold[0] == gen0
    assert threshold[1:] == [10, 10]  # the older generations keep Python's thresholds
    frozen = settings["frozen"]
    assert isinstance(frozen, int) and frozen > 10_000  # modules, agents and DBOS, frozen


def test_zero_leaves_the_collector_as_python_set_it(tmp_path: Path) -> None:
    settings = _worker_settings(tmp_path, "0")
    assert settings == {"threshold": [700, 10, 10], "frozen": 0}


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"TIMESTEP_WORKER_GC": "lots"},
            [],
            "TIMESTEP_WORKER_GC must be a whole number >= 0, got 'lots'",
        ),
        ({"TIMESTEP_EXECUTOR_THREADS": "0"}, [], "TIMESTEP_EXECUTOR_THREADS must be a whole"),
        ({"TIMESTEP_TOOL_THREADS": "few"}, [], "TIMESTEP_TOOL_THREADS must be a whole number"),
        (
            {"TIMESTEP_EXECUTOR_HEARTBEAT": "soon"},
            [],
            "$TIMESTEP_EXECUTOR_HEARTBEAT must be a number of seconds, got 'soon'",
        ),
        (
            {"TIMESTEP_EXECUTOR_LEASE": "inf"},
            [],
            "$TIMESTEP_EXECUTOR_LEASE must be a number of seconds, got 'inf'",
        ),
        ({"TIMESTEP_EXECUTOR_LEASE": "3"}, [], "must be at least twice the heartbeat (5 s)"),
        ({}, ["--heartbeat", "2", "--lease", "3"], "must be at least twice the heartbeat (2 s)"),
    ],
    ids=["gc", "executor-threads", "tool-threads", "heartbeat", "lease", "lease-env", "options"],
)
def test_a_bad_value_is_refused_before_any_worker_starts(
    tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    """The supervisor of ``--processes 2`` refuses it once, before it starts a child."""
    db_url = f"sqlite:///{tmp_path / 'gc.db'}"
    child_env = {**cli_env(db_url), **env}
    child_env["TIMESTEP_LOG_FILE"] = str(tmp_path / "worker.log")
    (tmp_path / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "worker", "--agent", f"{MODULE}:reporter",
         "--processes", "2", *args],
        cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.count(message) == 1, done.stderr
    assert "2 workers on" not in done.stderr and "worker ready" not in done.stderr
    assert not (tmp_path / "gc.dbos.sqlite").exists()


@pytest.mark.parametrize("raw", ["-1", "many", "1.5", "2e5"])
def test_values_are_checked(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TIMESTEP_WORKER_GC", raw)
    with pytest.raises(ConfigurationError, match="TIMESTEP_WORKER_GC"):
        _gc.worker_gc_threshold()


@pytest.mark.parametrize(("raw", "value"), [("", 200_000), (" 0 ", 0), ("1000", 1000)])
def test_values_are_read(monkeypatch: pytest.MonkeyPatch, raw: str, value: int) -> None:
    monkeypatch.setenv("TIMESTEP_WORKER_GC", raw)
    assert _gc.worker_gc_threshold() == value
