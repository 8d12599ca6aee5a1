"""bench_scaleout.py's worker-CPU column: CPU seconds of a process tree, per second of a window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from harness.bench import load_bench


def _bench() -> ModuleType:
    return load_bench("bench_scaleout")


def test_cores_is_cpu_per_second_between_the_samples_around_the_window() -> None:
    cores = _bench()._cores
    samples = [(10.0, 1.0), (11.0, 2.5), (12.0, 4.0), (13.0, 5.5)]
    assert cores(samples, 11.2, 12.8) == pytest.approx((5.5 - 2.5) / (13.0 - 11.0))
    # a window reaching past the samples uses the first and last ones
    assert cores(samples, 0.0, 99.0) == pytest.approx((5.5 - 1.0) / 3.0)
    assert cores([(10.0, 1.0)], 9.0, 11.0) is None
    assert cores([], 9.0, 11.0) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux /proc")
def test_cpu_seconds_counts_the_process_and_its_children() -> None:
    cpu_seconds = _bench()._cpu_seconds
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.process_time() + 0.4\n"
            "while time.process_time() < end: pass\nprint('done', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "done"
        own = time.process_time()
        assert cpu_seconds(child.pid) >= 0.35  # the child's own 0.4 s (clock ticks: 0.01 s)
        assert cpu_seconds(os.getpid()) >= own + 0.35 - 0.05  # this process and its child
    finally:
        child.kill()
        child.wait()
    assert cpu_seconds(2**22 + 12345) is None  # no such process
