"""bench/probe_hops.py: the hops it adds are DBOS's (three per step) and are timed apart."""

from __future__ import annotations

from harness.bench import load_bench, run_bench_json


def test_each_step_gets_three_hops_whose_time_is_taken_out_of_the_sdks() -> None:
    hold_ms = 0.5
    found = run_bench_json("probe_hops.py", "--runs", "2", "--hold", str(hold_ms), "--json")
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
