"""Starting timestep workers for tests, reading their stderr, and stopping child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def stop_process(
    proc: subprocess.Popen[Any], timeout: float = 60, sig: int = signal.SIGTERM
) -> int:
    """Send ``sig`` (SIGTERM) to ``proc`` if it still runs, wait up to ``timeout`` seconds, then
    SIGKILL it if it did not exit. Returns its exit code (``-9`` when it had to be killed)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def read_until(
    proc: subprocess.Popen[str], text: str, lines: list[str], deadline: float
) -> list[str]:
    """Append ``proc``'s stderr lines to ``lines`` until one contains ``text`` (by ``deadline``,
    a ``time.monotonic()`` value); fails if the process closes stderr first."""
    assert proc.stderr is not None
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, lines
        line = proc.stderr.readline()
        assert line, f"the process closed stderr: {lines}"
        lines.append(line)
    return lines


def start_worker(
    directory: Path, env: dict[str, str], agent_ref: str, *options: str
) -> subprocess.Popen[str]:
    """``timestep worker --agent agent_ref [options]`` in ``directory``, once it says it is ready
    (within 180 s; its stderr stays readable)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "worker", "--agent", agent_ref, *options],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        read_until(proc, "worker ready on", [], time.monotonic() + 180)
    except BaseException:
        stop_process(proc)
        raise
    return proc
