"""bench/probe_hops.py: the hops it adds are DBOS's (three per step) and are timed apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.bench import BENCH_DIR, load_bench

ROOT = Path(__file__).resolve().parents[2]


def test_each_step_gets_three_hops_whose_time_is_taken_out_of_the_sdks() -> None:
    env = dict(os.environ, OPENAI_AGENTS_DISABLE_TRACING="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    hold_ms = 0.5
    script = str(BENCH_DIR / "probe_hops.py")
    proc = subprocess.run(
        [sys.executable, script, "--runs", "2", "--hold", str(hold_ms), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    steps = load_bench("bench_durable").STEPS
    assert found["steps"] == steps
    modes = found["modes"]
    assert set(modes) == {"stock", "timestep's graph", "empty hops", "busy hops"}
    for name in ("stock", "timestep's graph"):
        assert modes[name]["hops_per_run"] == 0
        assert modes[name]["run_ms"] == modes[name]["sdk_ms"]
    assert modes["stock"]["sdk_above_stock_ms"] == 0
    for name in ("empty hops", "busy hops"):
        assert modes[name]["hops_per_run"] == 3 * steps  # DBOS's idle hop, check and record
        assert modes[name]["sdk_ms"] > 0
    busy = modes["busy hops"]
    # the check and the record hold their thread for hold_ms: hop time, none of it the SDK's
    assert busy["run_ms"] - busy["sdk_ms"] >= 2 * steps * hold_ms
