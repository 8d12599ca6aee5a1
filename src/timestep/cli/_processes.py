"""``timestep worker --processes N``: N worker processes on one machine sharing the queue.

Each child is an ordinary ``timestep worker`` (its own DBOS executor, its own event loop, so the
worker uses N cores). The store URL reaches the children through ``$TIMESTEP_DB``, not their
command line, so a password stays out of ``ps``. With ``--executor-id X`` the children are named
``X-1`` .. ``X-N`` (a restarted child recovers its own segments at once); otherwise each gets a
unique id and, on Postgres, the others take over a dead one's segments (see ``durable._takeover``).

A child that exits after running for a while is started again; one that exits within
:data:`MIN_UPTIME` seconds of its start (bad arguments, an agent that cannot be imported) stops
them all, and the command exits with that child's code. Ctrl+C or SIGTERM stops every child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

#: A child exiting sooner than this after its start is a configuration error, not a crash.
MIN_UPTIME = 10.0


def child_args(
    agent_refs: Sequence[str],
    *,
    index: int,
    concurrency: int | None,
    executor_id: str | None,
    lease: float | None,
    heartbeat: float | None,
) -> list[str]:
    """The ``timestep worker`` arguments of child ``index`` (1-based)."""
    args = ["worker"]
    for ref in agent_refs:
        args += ["--agent", ref]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if executor_id is not None:
        args += ["--executor-id", f"{executor_id}-{index}"]
    if lease is not None:
        args += ["--lease", str(lease)]
    if heartbeat is not None:
        args += ["--heartbeat", str(heartbeat)]
    return args


@dataclass
class _Child:
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "timestep.cli", *self.args], env=env)
        self.started = time.monotonic()


def run_processes(db: str, children_args: Sequence[list[str]], *, poll: float = 0.5) -> int:
    """Run one ``timestep worker`` process per entry until stopped; return the exit code."""
    env = dict(os.environ, TIMESTEP_DB=db)
    children = [_Child(list(args)) for args in children_args]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for child in children:
            child.start(env)
        while not stopping:
            time.sleep(poll)
            for child in children:
                assert child.proc is not None
                exited = child.proc.poll()
                if exited is None or stopping:
                    continue
                if time.monotonic() - child.started < MIN_UPTIME:
                    code, stopping = exited or 1, True
                    break
                child.start(env)
    finally:
        for child in children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
        for child in children:
            if child.proc is not None:
                try:
                    child.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
