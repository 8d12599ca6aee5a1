"""bench/machine.py: the speed probe and CPU steal every benchmark header carries."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench import load_bench

STAT = (
    "cpu  2255 34 2290 22625563 6290 127 456 41 0 0\n"
    "cpu0 1132 34 1441 11311718 3675 127 438 20 0 0\n"
    "intr 114930548 113199788 3 0 5 263 0 4 [... 50 more fields]\n"
)


def _machine() -> ModuleType:
    return load_bench("machine")


def test_the_aggregate_cpu_line_gives_total_and_steal() -> None:
    times = _machine().parse_cpu_line(STAT)
    assert times.total == 2255 + 34 + 2290 + 22625563 + 6290 + 127 + 456 + 41
    assert times.steal == 41


def test_steal_share_is_the_stolen_part_of_the_time_between_two_readings() -> None:
    machine = _machine()
    start, end = machine.CpuTimes(total=1000, steal=10), machine.CpuTimes(total=1400, steal=110)
    assert machine.steal_share(start, end) == pytest.approx(0.25)
    assert machine.steal_share(None, end) is None
    assert machine.steal_share(start, start) is None  # no time passed: not knowable
    assert machine.steal_share(end, start) is None  # counters went back (another boot)


@given(st.text(max_size=300))
def test_any_text_reads_as_counters_or_none(text: str) -> None:
    times = _machine().parse_cpu_line(text)
    assert times is None or 0 <= times.steal <= times.total


def test_a_missing_proc_stat_reads_as_unknown(tmp_path: Path) -> None:
    assert _machine().cpu_times(tmp_path / "no-such-stat") is None


def test_the_probe_times_its_fixed_workload() -> None:
    machine = _machine()
    assert machine.speed_probe(repeats=3) > 0
    with pytest.raises(ValueError, match="repeats"):
        machine.speed_probe(repeats=0)


def test_a_watch_describes_the_probe_at_both_ends_and_the_steal() -> None:
    machine = _machine()
    state = machine.MachineWatch().start().stop()
    assert state.probe_start_ms > 0 and state.probe_end_ms > 0
    assert machine.MachineState(**state.to_json()) == state  # breakdown's JSON reads back
    text = machine.MachineState(8.25, 9.0, 0.031).describe()
    assert "speed probe 8.2 ms at the start and 9.0 ms at the end" in text
    assert text.endswith("CPU steal 3%")
    assert machine.MachineState(8.0, 9.0, None).describe().endswith("CPU steal unknown")


def test_the_benchmark_headers_carry_the_machine_state() -> None:
    sentence = _machine().MachineState(7.0, 7.5, 0.02).describe()
    durable = load_bench("bench_durable")
    args = argparse.Namespace(
        runs=5, own_runs=durable.OWN_RUNS, concurrent=1000, repeats=1, ts=True, latency=0.05
    )
    assert sentence in durable._markdown(args, [], [], 60.0, None, sentence)
    scaleout = load_bench("bench_scaleout")
    args = argparse.Namespace(
        runs=10, concurrency=8, processes=[1], databases=["sqlite"], latency=0.0
    )
    assert sentence in scaleout._markdown(args, [], sentence)
