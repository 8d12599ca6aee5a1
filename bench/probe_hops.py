"""Why the SDK runs slower inside a durable run than beside it: thread hops (issue 16, goal 2).

DBOS's async step hops to an executor thread three times (dbos 3.4, ``_outcome.Pending``): once
to pick the step's recording function (which does no I/O), once to check for a recorded output
before the body and once to record the output after it. This probe puts the same hops into the
stock SDK's run of ``bench_durable.py``'s workload (11 steps: six model calls and five tool
calls) without DBOS or a database, and times, in turn in one process:

- ``stock``: the stock SDK's run (one Agent clone);
- ``timestep's graph``: the same run through timestep's durable clone of the agent graph and its
  durable model provider, outside a workflow, where the wrappers pass straight through (what the
  wrapping costs the SDK by itself);
- ``empty hops``: the stock run with two hops to a worker thread before each model and tool
  call and one after it, the thread doing nothing;
- ``busy hops``: the same, the thread running ``--hold`` ms of Python in the check and the
  record (holding the GIL, as DBOS's SQLAlchemy calls do).

For each, the run's median and the SDK's own time: the run minus the wall time of its hops. When
that time is above the stock run's, the SDK's code itself ran slower between the hops (the
event loop's thread woke on a cold core, at a lower clock, or waited for the GIL): that part of
a durable run's cost comes from DBOS's threads, not from what timestep adds.

    python bench/probe_hops.py --runs 200
    python bench/probe_hops.py --runs 200 --json
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import STEPS, _agent, _stock_one  # noqa: E402
from machine import MachineState, MachineWatch  # noqa: E402

WARM = 10


@dataclasses.dataclass
class Hops:
    """Hops to a worker thread around an agent's model and tool calls, and their wall time."""

    pool: ThreadPoolExecutor
    hold: float = 0.0
    count: int = 0
    seconds: float = 0.0

    def _busy(self) -> None:
        end = time.perf_counter() + self.hold
        while time.perf_counter() < end:
            pass

    @staticmethod
    def _nothing() -> None:
        pass

    async def hop(self, busy: bool = True) -> None:
        start = time.perf_counter()
        work = self._busy if busy else self._nothing
        await asyncio.get_running_loop().run_in_executor(self.pool, work)
        self.seconds += time.perf_counter() - start
        self.count += 1

    def around(self, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``call`` with DBOS's hops: an idle one and the check before it, the record after."""

        @functools.wraps(call)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            await self.hop(busy=False)
            await self.hop()
            result = await call(*args, **kwargs)
            await self.hop()
            return result

        return wrapped


def _hopping_agent(hops: Hops) -> Any:
    agent = _agent(0.0)
    agent.model.get_response = hops.around(agent.model.get_response)
    tool = agent.tools[0]
    agent.tools = [dataclasses.replace(tool, on_invoke_tool=hops.around(tool.on_invoke_tool))]
    return agent


async def _probe(runs: int, hold_ms: float) -> dict[str, dict[str, float]]:
    from agents import RunConfig, Runner

    from timestep.durable._steps import DurableModelProvider, wrap_agent
    from timestep.models import with_default_provider

    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe-hop-")
    plain = _agent(0.0)
    config = with_default_provider(RunConfig())
    config = dataclasses.replace(config, model_provider=DurableModelProvider(config.model_provider))
    empty = Hops(pool)
    busy = Hops(pool, hold=hold_ms / 1000)
    empty_agent, busy_agent = _hopping_agent(empty), _hopping_agent(busy)

    async def graph() -> None:
        root, _graph = wrap_agent(plain)
        result = await Runner.run(root, "go", run_config=config, max_turns=20)
        assert result.final_output == "done"

    modes: dict[str, tuple[Callable[[], Awaitable[None]], Hops | None]] = {
        "stock": (lambda: _stock_one(plain.clone()), None),
        "timestep's graph": (graph, None),
        "empty hops": (lambda: _stock_one(empty_agent.clone()), empty),
        "busy hops": (lambda: _stock_one(busy_agent.clone()), busy),
    }
    seen: dict[str, dict[str, list[float]]] = {
        name: {"run": [], "sdk": [], "hops": []} for name in modes
    }
    try:
        for i in range(WARM + runs):
            for name, (one, hops) in modes.items():
                if hops is not None:
                    hops.count, hops.seconds = 0, 0.0
                start = time.perf_counter()
                await one()
                elapsed = time.perf_counter() - start
                hopped = hops.seconds if hops is not None else 0.0
                if i >= WARM:
                    seen[name]["run"].append(elapsed)
                    seen[name]["sdk"].append(elapsed - hopped)
                    seen[name]["hops"].append(hops.count if hops is not None else 0)
    finally:
        pool.shutdown()
    stock_sdk = statistics.median(seen["stock"]["sdk"])
    return {
        name: {
            "run_ms": statistics.median(times["run"]) * 1e3,
            "sdk_ms": statistics.median(times["sdk"]) * 1e3,
            "sdk_above_stock_ms": (statistics.median(times["sdk"]) - stock_sdk) * 1e3,
            "hops_per_run": statistics.median(times["hops"]),
        }
        for name, times in seen.items()
    }


def main() -> None:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--hold", type=float, default=0.2, help="ms of Python per busy hop")
    parser.add_argument("--json", action="store_true", help="print the raw JSON")
    args = parser.parse_args()
    watch = MachineWatch().start()
    medians = asyncio.run(_probe(args.runs, args.hold))
    machine = watch.stop()
    if args.json:
        print(json.dumps({"steps": STEPS, "modes": medians, "machine": machine.to_json()}))
        return
    print(f"{args.runs} runs of each after {WARM} warm-ups, in turn, medians ({STEPS} steps/run)")
    print(MachineState(**machine.to_json()).describe())
    print("| mode | run (ms) | SDK outside the hops (ms) | above stock | hops per run |")
    print("|---|---:|---:|---:|---:|")
    for name, row in medians.items():
        print(
            f"| {name} | {row['run_ms']:.2f} | {row['sdk_ms']:.2f} | "
            f"{row['sdk_above_stock_ms']:+.2f} | {row['hops_per_run']:.0f} |"
        )


if __name__ == "__main__":
    main()
