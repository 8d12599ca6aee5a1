"""The state of this shared machine while a benchmark runs: a speed probe and the CPU steal.

On this shared VM the same work can take twice as long from one minute or hour to the next at a
load average near 1, so the load average alone says little. Two more figures are taken at the
start and the end of a measurement and printed in its header:

- the *CPU steal*: the share of this machine's CPU time the hypervisor gave to other guests over
  the measurement (``/proc/stat``; ``unknown`` where there is no such file);
- the *speed probe*: a fixed single-threaded Python workload (JSON round trips and dict work),
  timed several times; its median in ms (lower is faster).

Both are coarse: on 2026-12-03 the probe read 6.5-12 ms while the stock SDK run alternated with
it took 8-14 ms, and the two did not move together minute by minute. The reference for comparing
figures stays the stock run measured alternately in the same table; these explain a slow run
(steal, or a slow probe) when they show it, and do not prove a run quiet when they do not.

    python bench/machine.py          # print the probe and the steal over ~1 s of work
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
_DOC = {
    "type": "function_call",
    "call_id": "call_0",
    "name": "lookup",
    "arguments": json.dumps({"city": "Paris", "units": "metric"}),
    "items": [{"id": i, "text": f"item {i}", "done": i % 2 == 0} for i in range(40)],
}


def _workload() -> int:
    total = 0
    for _ in range(200):
        doc = json.loads(json.dumps(_DOC))
        total += sum(1 for item in doc["items"] if item["done"]) + len(doc["arguments"])
    return total


def speed_probe(repeats: int = 7) -> float:
    """Median wall time of the fixed workload, in ms (lower is faster)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    _workload()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _workload()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@dataclass(frozen=True)
class CpuTimes:
    """The machine's cumulative CPU time counters: all of them, and the stolen part."""

    total: int
    steal: int


def parse_cpu_line(text: str) -> CpuTimes | None:
    """The aggregate ``cpu`` line of ``/proc/stat``; None when the text has no readable one."""
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0] != "cpu":
            continue
        try:
            values = [int(value) for value in fields[1:9]]
        except ValueError:
            return None
        if len(values) < 8 or min(values) < 0:
            return None
        return CpuTimes(total=sum(values), steal=values[7])
    return None


def cpu_times(path: Path = PROC_STAT) -> CpuTimes | None:
    """The machine's CPU time counters now; None where ``/proc/stat`` cannot be read."""
    try:
        return parse_cpu_line(path.read_text())
    except OSError:
        return None


def steal_share(start: CpuTimes | None, end: CpuTimes | None) -> float | None:
    """Stolen share (0-1) of the CPU time between two readings; None when it cannot be known."""
    if start is None or end is None:
        return None
    total, steal = end.total - start.total, end.steal - start.steal
    if total <= 0 or steal < 0:
        return None
    return steal / total


@dataclass(frozen=True)
class MachineState:
    """The speed probe at a measurement's start and end, and the steal over it."""

    probe_start_ms: float
    probe_end_ms: float
    steal: float | None

    def describe(self) -> str:
        """One sentence for a benchmark's header."""
        steal = "unknown" if self.steal is None else f"{self.steal * 100:.0f}%"
        return (
            f"speed probe {self.probe_start_ms:.1f} ms at the start and {self.probe_end_ms:.1f} "
            f"ms at the end (bench/machine.py; lower is faster), CPU steal {steal}"
        )

    def to_json(self) -> dict[str, float | None]:
        return {
            "probe_start_ms": self.probe_start_ms,
            "probe_end_ms": self.probe_end_ms,
            "steal": self.steal,
        }


class MachineWatch:
    """Takes the probe and the counters at ``start()`` and again at ``stop()``."""

    def __init__(self) -> None:
        self._probe = 0.0
        self._times: CpuTimes | None = None

    def start(self) -> MachineWatch:
        self._probe = speed_probe()
        self._times = cpu_times()
        return self

    def stop(self) -> MachineState:
        end_times = cpu_times()
        return MachineState(self._probe, speed_probe(), steal_share(self._times, end_times))


def main() -> None:
    watch = MachineWatch().start()
    speed_probe(repeats=50)  # a second or so of work, over which the steal is read
    print(watch.stop().describe())


if __name__ == "__main__":
    main()
