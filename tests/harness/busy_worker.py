"""A real ``timestep worker`` holding one run while another waits on the queue.

The worker (a subprocess, concurrency 1) runs agent ``busy``, whose ``hold`` tool waits until a
file exists: the first queued run stays ``running`` inside that tool, the second stays queued
behind it. Used by the CLI and browser tests of the activity view (``timestep workers``).
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.cli_support import cli_env
from harness.processes import start_worker, stop_process

MODULE = "timestep_busy_agents"

SOURCE = '''
"""An agent whose tool waits for a file: it keeps its run running as long as the test wants."""

import asyncio
import os

from agents import Agent, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call


@function_tool
async def hold() -> str:
    """Wait until the release file exists."""
    while not os.path.exists(os.environ["TIMESTEP_TEST_RELEASE"]):
        await asyncio.sleep(0.1)
    return "released"


def busy() -> Agent:
    script = []
    for _ in range(10):
        script += [[function_call("hold", {}, call_id="call-hold")], [assistant_message("done")]]
    return Agent(name="busy", tools=[hold], model=ScriptedModel(script))
'''


@dataclass
class BusyWorker:
    """The worker process, the runs it was given, and the file that lets them finish."""

    process: subprocess.Popen[str]
    running: str
    queued: str
    release: Path

    def finish(self) -> None:
        """Let the held runs finish."""
        self.release.touch()


async def _enqueue(db_url: str, run_ids: list[str]) -> None:
    from timestep.durable import enqueue_run
    from timestep.state import RunStateStore

    async with RunStateStore(db_url) as store:
        for run_id in run_ids:
            await enqueue_run("busy", "hold on", run_id=run_id, store=store, max_turns=4)
            await asyncio.sleep(0.5)  # the first is dequeued before the second is queued


@contextmanager
def busy_worker(
    directory: Path, db_url: str, *, prefix: str = "busy", env: dict[str, str] | None = None
) -> Iterator[BusyWorker]:
    """Start the worker in ``directory`` on ``db_url`` and give it two runs; stop it after."""
    (directory / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    release = directory / "release"
    env = {**cli_env(db_url), "TIMESTEP_TEST_RELEASE": str(release), **(env or {})}
    env["TIMESTEP_LOG_FILE"] = str(directory / "worker.log")
    process = start_worker(directory, env, f"{MODULE}:busy", "--concurrency", "1")
    try:
        worker = BusyWorker(process, f"{prefix}-1", f"{prefix}-2", release)
        asyncio.run(_enqueue(db_url, [worker.running, worker.queued]))
        yield worker
    finally:
        release.touch()
        stop_process(process)
