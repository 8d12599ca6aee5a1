"""How much slower the stock SDK's run is right after the event loop sat idle (issue 16, goal 2).

A durable step waits for DBOS's system-database calls in executor threads, so the event loop
idles between the SDK's pieces of work, about twice per step. This probe runs the stock SDK's
run of ``bench_durable.py``'s workload (one Agent clone, no durability) right after an
``asyncio.sleep`` of 0, 1, 5 and 20 ms, in turn, and prints the median of each: a machine that
slows down code after an idle wait (cold caches, a lower clock, a descheduled virtual CPU) makes
the SDK dearer inside a durable run than beside it, in every durable library alike.

    python bench/probe_idle.py --runs 80
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_durable import _agent, _stock_one

IDLE_MS = [0, 1, 5, 20]


async def _probe(runs: int) -> dict[int, float]:
    agent = _agent(0.0)
    seen: dict[int, list[float]] = {idle: [] for idle in IDLE_MS}
    for i in range(runs + 5):
        for idle in IDLE_MS:
            if idle:
                await asyncio.sleep(idle / 1000)
            start = time.perf_counter()
            await _stock_one(agent.clone())
            if i >= 5:
                seen[idle].append(time.perf_counter() - start)
    return {idle: statistics.median(times) * 1e3 for idle, times in seen.items()}


def main() -> None:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=80)
    args = parser.parse_args()
    medians = asyncio.run(_probe(args.runs))
    print(f"stock SDK run, median of {args.runs}, after the event loop sat idle for:")
    for idle, ms in medians.items():
        print(f"  {idle:3d} ms: {ms:.2f} ms (+{ms - medians[0]:.2f})")


if __name__ == "__main__":
    main()
