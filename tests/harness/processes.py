"""Stopping the child processes a test started."""

from __future__ import annotations

import signal
import subprocess
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
