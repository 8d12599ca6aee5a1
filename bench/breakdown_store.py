"""The store calls of a durable run, piece by piece (issue 16, goals 1 and 2).

``breakdown_durable.py`` puts the three store calls of a durable run (the new-run check, the run's
first row and the end-of-segment save) at the largest part of timestep's own cost. This script
splits each call into its pieces, timed in the order the call runs them (a warm loop of one piece
alone reads about half of what it costs inside the call), then times the call itself, in one
process on a fresh database (a SQLite file and Postgres), medians over ``--calls`` rounds:

- the SDK's own work: building the start state and ``RunState.to_json``; ``RunResult.to_state``
  (as the store runs them: each run item serialised once, no digests when no nested-history refs
  are owned), and, last in each round, the SDK's ``to_state`` and ``to_json`` with none of that;
- the row's values (``json.dumps`` of the state and the facts read from it);
- the statements, on the calling thread;
- a thread hop alone (``asyncio.to_thread`` of a function that does nothing);
- the whole call as a durable run makes it (``await store.run / create_run / save``): its
  statements run on the event loop (awaited on Postgres; on SQLite when no lock is waited for);
- the whole call with its statements in a worker thread, as before the calls ran on the loop
  (and as they still do when they would wait): what that path costs beside the other, in the
  same round.

    python bench/breakdown_store.py                  # SQLite file and Postgres
    python bench/breakdown_store.py --db sqlite --calls 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import DatabaseTargets, _agent  # noqa: E402
from breakdown_durable import _sdk_state_paths  # noqa: E402
from machine import MachineWatch  # noqa: E402

#: The pieces of each call, in the order printed; "whole call" is the call itself.
THREADED = "whole call, statements in a worker thread"
#: The SDK's own to_state and to_json beside timestep's faster paths (state/_nested_refs.py,
#: state/_state_json.py), timed last in each save round.
SDK_OWN = ["SDK to_state, the SDK's own code", "SDK to_json, the SDK's own code"]
PIECES: dict[str, list[str]] = {
    "new-run check": ["statement", "thread hop", "whole call", THREADED],
    "first row": ["SDK start state + to_json", "row values", "statement", "whole call", THREADED],
    "save": [
        *("SDK to_state", "SDK to_json", "row values", "statement", "whole call", THREADED),
        *SDK_OWN,
    ],
}


class _Clock:
    """Times the pieces of one call in the order a real call runs them, a call per round.

    Timing each piece in a loop of its own measures it with warm caches (about half of what it
    costs inside a real call on this machine); timed in sequence, the pieces add up to the call.
    """

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, piece: str) -> None:
        now = time.perf_counter()
        self.times.setdefault(piece, []).append(now - self._last)
        self._last = now

    def medians_ms(self) -> dict[str, float]:
        return {piece: statistics.median(t) * 1000 for piece, t in self.times.items()}


async def measure(target: str, calls: int) -> dict[str, dict[str, float]]:
    """Median ms of each piece of the three store calls on ``target`` (see :data:`PIECES`)."""
    from agents import Runner, RunState

    from timestep import RunNotFoundError
    from timestep._versions import python_sdk_version
    from timestep.durable import _rows
    from timestep.durable._spec import SegmentSpec
    from timestep.durable._steps import wrap_agent
    from timestep.state import RunStateStore
    from timestep.state._state_json import state_json
    from timestep.state._store import _new_version

    agent, _graph = wrap_agent(_agent(0))
    store = RunStateStore(target)
    backend = store._open()
    result = await Runner.run(agent, "go", max_turns=20)
    sdk = python_sdk_version()
    meta = {"durable_agent": agent.name}
    clocks = {call: _Clock() for call in PIECES}

    spec = SegmentSpec(agent=agent.name, store=target, max_turns=20, input="go")

    def start_state() -> RunState[Any, Any]:
        return _rows.start_state(agent, "go", spec)  # what a run's first segment stores

    async def check(i: int) -> None:
        clock = clocks["new-run check"]
        clock.start()
        with contextlib.suppress(RunNotFoundError):
            backend.run(f"missing-{i}")
            raise AssertionError("a run that was never stored was found")
        clock.lap("statement")
        await asyncio.to_thread(lambda: None)
        clock.lap("thread hop")
        with contextlib.suppress(RunNotFoundError):
            await store.run(f"missing-again-{i}")
            raise AssertionError("a run that was never stored was found")
        clock.lap("whole call")
        with contextlib.suppress(RunNotFoundError):
            await asyncio.to_thread(backend.run, f"missing-threaded-{i}")
            raise AssertionError("a run that was never stored was found")
        clock.lap(THREADED)

    async def first_row(i: int) -> None:
        clock = clocks["first row"]
        clock.start()
        doc = state_json(start_state())
        clock.lap("SDK start state + to_json")
        row = _new_version(doc, "python", sdk, "running")
        clock.lap("row values")
        assert backend.create(f"row-{i}", row, meta) is not None
        clock.lap("statement")
        assert await store.create_run(start_state(), run_id=f"whole-{i}", metadata=meta)
        clock.lap("whole call")
        row = _new_version(state_json(start_state()), "python", sdk, "running")
        assert await asyncio.to_thread(backend.create, f"threaded-{i}", row, meta) is not None
        clock.lap(THREADED)

    async def save(i: int) -> None:
        clock = clocks["save"]
        clock.start()
        state = result.to_state()
        clock.lap("SDK to_state")
        doc = state_json(state)
        clock.lap("SDK to_json")
        row = _new_version(doc, "python", sdk, "done")
        clock.lap("row values")
        stored = backend.append(
            f"row-{i}", row, expected_version=0, metadata=meta, keep_versions=None
        )
        assert stored.version == 1
        clock.lap("statement")
        stored = await store.save(result, run_id=f"whole-{i}", expected_version=0, metadata=meta)
        assert stored.version == 1
        clock.lap("whole call")
        row = _new_version(state_json(result.to_state()), "python", sdk, "done")
        stored = await asyncio.to_thread(
            backend.append,
            f"threaded-{i}",
            row,
            expected_version=0,
            metadata=meta,
            keep_versions=None,
        )
        assert stored.version == 1
        clock.lap(THREADED)
        with _sdk_state_paths():
            clock.start()
            state = result.to_state()
            clock.lap(SDK_OWN[0])
        state.to_json()
        clock.lap(SDK_OWN[1])

    for i in range(calls):
        await check(i)
        await first_row(i)
        await save(i)
    return {call: clock.medians_ms() for call, clock in clocks.items()}


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
    for piece, label in (
        ("whole call", "the three calls of one run"),
        (THREADED, "the three, threaded"),
    ):
        totals = " | ".join(f"{sum(results[db][call][piece] for call in PIECES):.3f}" for db in dbs)
        lines.append(f"| **{label}** | {totals} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--calls", type=int, default=300, help="rounds of the three calls")
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
    print(f"{args.calls} rounds, medians; load average {load:.1f} at the end")
    print("\n".join(states))
    print("\n".join(markdown(results)))


if __name__ == "__main__":
    main()
