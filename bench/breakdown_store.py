"""The store calls of a durable run, piece by piece (issue 16, goals 1 and 2).

``breakdown_durable.py`` puts the three store calls of a durable run (the new-run check, the run's
first row and the end-of-segment save) at the largest part of timestep's own cost. This script
splits each call into its pieces, timed alone in one process on a fresh database (a SQLite file
and Postgres), medians over ``--calls`` calls each:

- the SDK's own work: building the start state and ``RunState.to_json``; ``RunResult.to_state``;
- the row's values (``json.dumps`` of the state and the facts read from it);
- the statements, on the calling thread (the store runs them in a worker thread);
- a thread hop alone (``asyncio.to_thread`` of a function that does nothing);
- the whole call as a durable run makes it (``await store.run / create_run / save``).

    python bench/breakdown_store.py                  # SQLite file and Postgres
    python bench/breakdown_store.py --db sqlite --calls 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import DatabaseTargets, _agent  # noqa: E402
from machine import MachineWatch  # noqa: E402

#: The pieces of each call, in the order printed; "whole call" is the call itself.
PIECES: dict[str, list[str]] = {
    "new-run check": ["statement", "thread hop", "whole call"],
    "first row": ["SDK start state + to_json", "row values", "statement", "whole call"],
    "save": ["SDK to_state", "SDK to_json", "row values", "statement", "whole call"],
}


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _timed(calls: int, one: Callable[[int], object]) -> float:
    times = []
    for i in range(calls):
        start = time.perf_counter()
        one(i)
        times.append(time.perf_counter() - start)
    return _median_ms(times)


async def _timed_async(calls: int, one: Callable[[int], Awaitable[object]]) -> float:
    times = []
    for i in range(calls):
        start = time.perf_counter()
        await one(i)
        times.append(time.perf_counter() - start)
    return _median_ms(times)


async def measure(target: str, calls: int) -> dict[str, dict[str, float]]:
    """Median ms of each piece of the three store calls on ``target`` (see :data:`PIECES`)."""
    from agents import RunContextWrapper, Runner, RunState

    from timestep import RunNotFoundError
    from timestep.durable._steps import wrap_agent
    from timestep.state import RunStateStore
    from timestep.state._store import _new_version

    agent, _graph = wrap_agent(_agent(0))
    store = RunStateStore(target)
    backend = store._open()
    result = await Runner.run(agent, "go", max_turns=20)
    version = "0.24"

    def start_json() -> dict[str, Any]:
        state: RunState[Any, Any] = RunState(
            context=RunContextWrapper(context=None),
            original_input="go",
            starting_agent=agent,
            max_turns=20,
        )
        return state.to_json()

    first = start_json()
    final_state = result.to_state()
    final = final_state.to_json()
    meta = {"durable_agent": agent.name}
    first_row = _new_version(first, "python", version, "running")
    final_row = _new_version(final, "python", version, "done")

    def missing(i: int) -> None:
        try:
            backend.run(f"missing-{i}")
        except RunNotFoundError:
            return
        raise AssertionError("a run that was never stored was found")

    async def missing_async(i: int) -> None:
        try:
            await store.run(f"missing-async-{i}")
        except RunNotFoundError:
            return
        raise AssertionError("a run that was never stored was found")

    async def hop(_i: int) -> None:
        await asyncio.to_thread(lambda: None)

    async def create_async(i: int) -> None:
        state: RunState[Any, Any] = RunState(
            context=RunContextWrapper(context=None),
            original_input="go",
            starting_agent=agent,
            max_turns=20,
        )
        assert await store.create_run(state, run_id=f"whole-{i}", metadata=meta) is not None

    async def save_async(i: int) -> None:
        stored = await store.save(result, run_id=f"whole-{i}", expected_version=0, metadata=meta)
        assert stored.version == 1

    def create(i: int) -> None:
        assert backend.create(f"row-{i}", first_row, meta) is not None

    def append(i: int) -> None:
        stored = backend.append(
            f"row-{i}", final_row, expected_version=0, metadata=meta, keep_versions=None
        )
        assert stored.version == 1

    return {
        "new-run check": {
            "statement": _timed(calls, missing),
            "thread hop": await _timed_async(calls, hop),
            "whole call": await _timed_async(calls, missing_async),
        },
        "first row": {
            "SDK start state + to_json": _timed(calls, lambda _i: start_json()),
            "row values": _timed(calls, lambda _i: _new_version(first, "python", version, None)),
            "statement": _timed(calls, create),
            "whole call": await _timed_async(calls, create_async),
        },
        "save": {
            "SDK to_state": _timed(calls, lambda _i: result.to_state()),
            "SDK to_json": _timed(calls, lambda _i: final_state.to_json()),
            "row values": _timed(calls, lambda _i: _new_version(final, "python", version, None)),
            "statement": _timed(calls, append),
            "whole call": await _timed_async(calls, save_async),
        },
    }


def markdown(results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """One table: a row per piece, a column per database (ms per call)."""
    dbs = list(results)
    lines = [
        "| call: piece (ms per call) | " + " | ".join(dbs) + " |",
        "|---|" + "---:|" * len(dbs),
    ]
    for call, pieces in PIECES.items():
        for piece in pieces:
            cells = " | ".join(f"{results[db][call][piece]:.3f}" for db in dbs)
            name = f"**{call}: {piece}**" if piece == "whole call" else f"{call}: {piece}"
            lines.append(f"| {name} | {cells} |")
    totals = " | ".join(
        f"{sum(results[db][call]['whole call'] for call in PIECES):.3f}" for db in dbs
    )
    lines.append(f"| **the three calls of one run** | {totals} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, dict[str, dict[str, float]]] = {}
    states: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, DatabaseTargets(tmp) as targets:
        for db in dbs:
            label = "SQLite file" if db == "sqlite" else "Postgres"
            watch = MachineWatch().start()
            results[label] = asyncio.run(measure(targets.target(db, "store"), args.calls))
            states.append(f"{label}: {watch.stop().describe()}")
    if args.json:
        print(json.dumps(results, indent=1))
        return
    load = os.getloadavg()[0]
    print(f"{args.calls} calls of each piece, medians; load average {load:.1f} at the end")
    print("\n".join(states))
    print("\n".join(markdown(results)))


if __name__ == "__main__":
    main()
