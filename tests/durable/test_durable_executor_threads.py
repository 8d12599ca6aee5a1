"""DBOS's executor (the event loop's default executor once DBOS runs: ``asyncio.to_thread``) is
bounded by ``$TIMESTEP_EXECUTOR_THREADS``; DBOS alone leaves it unbounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from timestep import ConfigurationError
from timestep.durable import _config

# A durable run whose tool starts 8 blocking calls with asyncio.to_thread at once and reports how
# many ran at the same time.
_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, threading, time
    from agents import Agent, function_tool
    sys.path.insert(0, sys.argv[2])
    from harness.scripted import scripted_model, text_turn, tool_turn
    from timestep.durable import run_durable, shutdown
    from timestep.state import RunStateStore

    lock, now, most = threading.Lock(), [0], [0]

    def block() -> None:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.2)
        with lock:
            now[0] -= 1

    @function_tool
    async def fan_out() -> str:
        await asyncio.gather(*(asyncio.to_thread(block) for _ in range(8)))
        return "ok"

    async def main() -> None:
        model = scripted_model(tool_turn("fan_out", {}), text_turn("done"))
        agent = Agent(name="fan", model=model, tools=[fan_out])
        result = await run_durable(
            agent, "go", run_id="fan-1", store=RunStateStore(sys.argv[1])
        )
        print(json.dumps({"answer": result.final_output, "most": most[0]}))
        shutdown()

    asyncio.run(main())
    """
)


def _run(tmp_path: Path, threads: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_EXECUTOR_THREADS"}
    if threads is not None:
        env["TIMESTEP_EXECUTOR_THREADS"] = threads
    tests = str(Path(__file__).resolve().parents[1])
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, store, tests],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("threads", "most"), [("3", 3), (None, 8)])
def test_to_thread_in_a_durable_run_is_bounded(
    tmp_path: Path, threads: str | None, most: int
) -> None:
    done = _run(tmp_path, threads)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # 3 threads: never more than 3 at once; the default (16) lets all 8 run together
    assert report == {"answer": "done", "most": most}, report


def test_a_bad_thread_count_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    done = _run(tmp_path, "0")
    assert done.returncode != 0
    assert "ConfigurationError: TIMESTEP_EXECUTOR_THREADS must be a whole number >= 1" in (
        done.stderr
    )
    assert not (tmp_path / "runs.dbos.sqlite").exists()


@pytest.mark.parametrize("raw", ["0", "-2", "many", "1.5"])
def test_thread_counts_are_checked(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TIMESTEP_EXECUTOR_THREADS", raw)
    with pytest.raises(ConfigurationError, match="TIMESTEP_EXECUTOR_THREADS"):
        _config.executor_threads()


def test_thread_count_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMESTEP_EXECUTOR_THREADS", raising=False)
    assert _config.executor_threads() == _config.DEFAULT_EXECUTOR_THREADS == 16
    monkeypatch.setenv("TIMESTEP_EXECUTOR_THREADS", " 40 ")
    assert _config.executor_threads() == 40


async def test_a_store_that_is_no_store_is_refused() -> None:
    from agents import Agent

    from timestep.durable import list_runs, run_durable

    with pytest.raises(ConfigurationError, match=r"RunStateStore\('sqlite:///x.db'\)"):
        await run_durable(Agent(name="a"), "go", run_id="r", store="sqlite:///x.db")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not int"):
        await list_runs(store=3)  # type: ignore[arg-type]
