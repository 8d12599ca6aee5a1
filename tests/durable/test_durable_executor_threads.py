"""Thread pools of a durable process: DBOS's executor (``$TIMESTEP_EXECUTOR_THREADS``) runs the
checkpoints; tool bodies' thread calls get a pool of their own (``$TIMESTEP_TOOL_THREADS``), so
sync tools that block never hold up another run's checkpoints. DBOS alone leaves its pool
unbounded and shares it with the tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from timestep import ConfigurationError, _env

# A durable run whose tool starts 8 blocking calls with asyncio.to_thread at once and reports how
# many ran at the same time.
_FAN_OUT = textwrap.dedent(
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

# Run "hold" calls 4 sync tools at once that block until released; run "quick" (a model turn, a
# sync tool, an answer) starts once all 4 hold their threads and must finish before the release.
_BLOCKED = textwrap.dedent(
    """
    import asyncio, json, sys, threading
    from agents import Agent, function_tool
    sys.path.insert(0, sys.argv[2])
    from harness.scripted import scripted_model, text_turn, tool_turn, tools_turn
    from timestep.durable import run_durable, shutdown
    from timestep.state import RunStateStore

    release, lock, holding, names = threading.Event(), threading.Lock(), [0], set()

    @function_tool
    def hold(n: int) -> str:
        with lock:
            holding[0] += 1
            names.add(threading.current_thread().name.rsplit("_", 1)[0])
        release.wait(60)
        return f"held {n}"

    @function_tool
    def quick() -> str:
        names.add(threading.current_thread().name.rsplit("_", 1)[0])
        return "quick"

    async def main() -> None:
        store = RunStateStore(sys.argv[1])
        calls = [("hold", {"n": n}, f"call_{n}") for n in range(4)]
        holder = Agent(
            name="holder",
            model=scripted_model(tools_turn(*calls), text_turn("released")),
            tools=[hold],
        )
        quicker = Agent(
            name="quicker",
            model=scripted_model(tool_turn("quick", {}), text_turn("quick done")),
            tools=[quick],
        )
        held = asyncio.create_task(run_durable(holder, "go", run_id="hold", store=store))
        for _ in range(500):  # all 4 hold a thread (a pool too small for them: 5 s at most)
            if holding[0] == 4:
                break
            await asyncio.sleep(0.01)
        held_at_start = holding[0]
        try:
            fast = await asyncio.wait_for(
                run_durable(quicker, "go", run_id="quick", store=store), 15
            )
            answer = fast.final_output
        except asyncio.TimeoutError:
            answer = "stalled"
        release.set()
        slow = await held
        print(json.dumps(
            {
                "holding": held_at_start,
                "quick": answer,
                "hold": slow.final_output,
                "threads": sorted(names),
            }
        ))
        shutdown()

    asyncio.run(main())
    """
)


def _run(tmp_path: Path, script: str, **threads: str) -> subprocess.CompletedProcess[str]:
    ours = {"TIMESTEP_EXECUTOR_THREADS", "TIMESTEP_TOOL_THREADS"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update({f"TIMESTEP_{name.upper()}_THREADS": value for name, value in threads.items()})
    tests = str(Path(__file__).resolve().parents[1])
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    return subprocess.run(
        [sys.executable, "-c", script, store, tests],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("threads", "most"),
    [({"tool": "3"}, 3), ({"tool": "3", "executor": "1"}, 3), ({}, None)],
)
def test_to_thread_in_a_tool_is_bounded_by_the_tool_threads(
    tmp_path: Path, threads: dict[str, str], most: int | None
) -> None:
    report = _report(_run(tmp_path, _FAN_OUT, **threads))
    # 3 tool threads: never more than 3 at once, whatever DBOS's pool; by default asyncio's own
    # default size (the stock SDK's), which lets all 8 run together on 4 cores or more
    expected = most if most is not None else min(8, _env.default_tool_threads())
    assert report == {"answer": "done", "most": expected}, report


def test_tools_that_block_do_not_hold_up_other_runs_checkpoints(tmp_path: Path) -> None:
    # one checkpoint thread, 5 tool threads: 4 blocked tools leave a thread for run "quick", and
    # its checkpoints do not wait for them (in one shared pool of 1 "quick" would stall)
    report = _report(_run(tmp_path, _BLOCKED, executor="1", tool="5"))
    assert report == {
        "holding": 4,
        "quick": "quick done",
        "hold": "released",
        "threads": ["timestep-tool-"],
    }, report


@pytest.mark.parametrize("name", ["EXECUTOR", "TOOL"])
def test_a_bad_thread_count_is_refused_before_anything_is_written(
    tmp_path: Path, name: str
) -> None:
    done = _run(tmp_path, _FAN_OUT, **{name.lower(): "0"})
    assert done.returncode != 0
    assert f"ConfigurationError: TIMESTEP_{name}_THREADS must be a whole number >= 1" in (
        done.stderr
    )
    assert not (tmp_path / "runs.dbos.sqlite").exists()


@pytest.mark.parametrize("raw", ["0", "-2", "many", "1.5"])
def test_thread_counts_are_checked(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    for name, read in (("EXECUTOR", _env.executor_threads), ("TOOL", _env.tool_threads)):
        monkeypatch.setenv(f"TIMESTEP_{name}_THREADS", raw)
        with pytest.raises(ConfigurationError, match=f"TIMESTEP_{name}_THREADS"):
            read()


def test_thread_count_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMESTEP_EXECUTOR_THREADS", raising=False)
    monkeypatch.delenv("TIMESTEP_TOOL_THREADS", raising=False)
    assert _env.executor_threads() == _env.DEFAULT_EXECUTOR_THREADS == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert _env.tool_threads() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _env.tool_threads() == 5
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert _env.tool_threads() == 32
    monkeypatch.setenv("TIMESTEP_EXECUTOR_THREADS", " 40 ")
    monkeypatch.setenv("TIMESTEP_TOOL_THREADS", "7")
    assert (_env.executor_threads(), _env.tool_threads()) == (40, 7)


async def test_a_store_that_is_no_store_is_refused() -> None:
    from agents import Agent

    from timestep.durable import list_runs, run_durable

    with pytest.raises(ConfigurationError, match=r"RunStateStore\('sqlite:///x.db'\)"):
        await run_durable(Agent(name="a"), "go", run_id="r", store="sqlite:///x.db")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not int"):
        await list_runs(store=3)  # type: ignore[arg-type]
