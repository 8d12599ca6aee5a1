"""Where timestep's own cost per durable run goes, in wall time (issue 16, goals 1 and 2).

One process per database runs, in turn, a stock SDK run (one Agent clone), DBOS's workflow of 11
empty steps and a timestep durable run (the workload of ``bench_durable.py``), after 3 warm-ups,
and times the calls that make up each run: timestep's store calls, the SDK's ``Runner.run``,
DBOS's steps and DBOS's system-database calls (in its executor threads). Own cost per run is
timestep minus stock minus DBOS; it splits into:

- *store calls*: the new-run check, the run's first row and the end-of-segment save; the
  table also shows how much of them is the SDK's own ``RunResult.to_state`` and
  ``RunState.to_json`` (the state's serialisation, which timestep does not control);
- *agent-graph clone*: the per-run copy of the agent graph with its tools and model wrapped;
- *rest outside the SDK run*: the workflow's start and end above DBOS's own (its larger input,
  the segment's set-up), what remains outside ``Runner.run`` once the above are taken out;
- *DBOS's calls, slower*: DBOS's system-database calls (step check, step record, workflow row
  and outcome) in the timestep run minus the same calls in the empty workflow;
- *step bodies*: the rest of the steps' time above the empty steps', without the work itself
  (the scripted model's ``get_response`` and the tool's ``on_invoke_tool``, timed in both runs):
  the step functions around the work, the output's dump and its JSON for the checkpoint;
- *model and tool wrappers*: timestep's ``DurableModel.get_response`` and tool wrappers outside
  the steps they run (the model response's reload from its checkpoint, reserving the tool
  calls' step ids);
- *SDK beside the wrappers*: ``Runner.run`` minus the wrapped calls, above the stock run minus
  its work;
- *the work, slower*: the model's and the tool's own calls in the timestep run minus the same
  calls in the stock run (the same code, run between DBOS's calls).

Medians over the runs of each part (so the parts need not add up exactly to the median total).

``--sdk-state`` adds a fourth run to each round: the same timestep run with the SDK's own
``to_state`` and ``to_json`` (without the store's faster paths, ``timestep/state/_state_json.py``
and ``_nested_refs.py``), so the two own costs are measured side by side. ``--dbos-hops`` adds
instead the same timestep run with DBOS's three thread hops per step (without the hops timestep
keeps on the event loop, ``timestep/durable/_threads.py``), and ``--dbos-sql`` the same run with
DBOS's own check and record of each step (without the statements timestep compiles once,
``timestep/durable/_step_sql.py``). Each reports the fourth run's own cost and, paired by round,
what the faster path saves per run.

    python bench/breakdown_durable.py --runs 40                 # SQLite file and Postgres
    python bench/breakdown_durable.py --db sqlite --runs 40
    python bench/breakdown_durable.py --db sqlite --runs 100 --sdk-state
    python bench/breakdown_durable.py --runs 100 --dbos-hops
    python bench/breakdown_durable.py --runs 100 --dbos-sql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import (  # noqa: E402
    STEPS,
    DatabaseTargets,
    _agent,
    _empty_steps_workflow,
    _stock_one,
    median_interval,
)
from machine import MachineState, MachineWatch  # noqa: E402

# label -> (module, attribute path) of the calls timed; async ones are awaited inside the timer
TIMED_ASYNC = {
    "store.run": ("timestep.state", "RunStateStore.run"),
    "store.create_run": ("timestep.state", "RunStateStore.create_run"),
    "store.save": ("timestep.state", "RunStateStore.save"),
    "Runner.run": ("agents", "Runner.run"),
    "step": ("dbos", "DBOS.run_step_async"),
    "reserved step": ("dbos", "StepReservation.run_async"),
    "model wrapper": ("timestep.durable._steps", "DurableModel.get_response"),
}
TIMED_SYNC = {
    "agent-graph clone": ("timestep.durable._segment", "wrap_agent"),
    # the system database's check and record, as installed at launch (DBOS's own behind them)
    "sys.check": ("timestep.durable._step_sql", "StepRows.check_operation_execution"),
    "sys.record": ("timestep.durable._step_sql", "StepRows.record_operation_result"),
    "sys.workflow row": ("dbos._sys_db", "SystemDatabase._insert_workflow_status"),
    "sys.outcome": ("dbos._sys_db", "SystemDatabase.update_workflow_outcome"),
    "sdk.to_state": ("agents.result", "RunResult.to_state"),
    "sdk.to_json": ("agents", "RunState.to_json"),
}
SYS_CALLS = [label for label in TIMED_SYNC if label.startswith("sys.")]
SDK_STATE_CALLS = ["sdk.to_state", "sdk.to_json"]
#: the model's and the tool's own calls, in the stock run and inside timestep's steps
WORK = "work"
TOOL_WRAPPER = "tool wrapper"
#: the part of "store calls" that is the SDK's own serialisation of the state
SDK_STATE = "of which the SDK's to_state and to_json"
STORE_CALLS = ["store.run", "store.create_run", "store.save"]
PARTS = [
    "store calls",
    "agent-graph clone",
    "rest outside the SDK run",
    "DBOS's calls, slower",
    "step bodies",
    "model and tool wrappers",
    "SDK beside the wrappers",
    "the work, slower",
]


class _Clock:
    """Wall time spent in the timed calls during the current run, by label (and call counts)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.spent.clear()
        self.calls.clear()

    def install(self) -> None:
        import importlib

        for table, is_async in ((TIMED_ASYNC, True), (TIMED_SYNC, False)):
            for label, (module, path) in table.items():
                owner: Any = importlib.import_module(module)
                *parents, name = path.split(".")
                for parent in parents:
                    owner = getattr(owner, parent)
                setattr(owner, name, self._wrap(label, getattr(owner, name), is_async))

    def _count(self, label: str, start: float) -> None:
        self.spent[label] += time.perf_counter() - start
        self.calls[label] += 1

    def _wrap(self, label: str, original: Callable[..., Any], is_async: bool) -> Any:
        count = self._count

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                count(label, start)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                count(label, start)

        wrapper = timed_async if is_async else timed
        # a classmethod looked up on its class is bound already: keep it callable as before
        return staticmethod(wrapper) if _bound_to_class(original) else wrapper


def _time_work(clock: _Clock, agent: Any) -> None:
    """Count the scripted model's calls and the tool's invocations as :data:`WORK`."""
    model_class = type(agent.model)
    model_class.get_response = clock._wrap(WORK, model_class.get_response, True)
    for tool in agent.tools:  # before any clone: the clones and timestep's wrappers share them
        tool.on_invoke_tool = clock._wrap(WORK, tool.on_invoke_tool, True)
    from timestep.durable import _steps

    wrap_tool = _steps._wrap_tool

    def timed_wrap_tool(tool: Any, step_name: str | None = None) -> Any:
        wrapped = wrap_tool(tool, step_name)
        wrapped.on_invoke_tool = clock._wrap(TOOL_WRAPPER, wrapped.on_invoke_tool, True)
        return wrapped

    _steps._wrap_tool = timed_wrap_tool


def _bound_to_class(method: Any) -> bool:
    return isinstance(getattr(method, "__self__", None), type)


def split(
    stock: dict[str, float], dbos: dict[str, float], ts: dict[str, float]
) -> dict[str, float]:
    """One triple of runs (seconds by label, ``total`` the run's wall) -> own cost by part."""
    sys_dbos = sum(dbos.get(label, 0.0) for label in SYS_CALLS)
    sys_ts = sum(ts.get(label, 0.0) for label in SYS_CALLS)
    steps_dbos = dbos.get("step", 0.0) + dbos.get("reserved step", 0.0)
    steps_ts = ts.get("step", 0.0) + ts.get("reserved step", 0.0)
    work_ts, work_stock = ts.get(WORK, 0.0), stock.get(WORK, 0.0)
    wrapped = ts.get("model wrapper", 0.0) + ts.get(TOOL_WRAPPER, 0.0)
    store = sum(ts.get(label, 0.0) for label in STORE_CALLS)
    clone = ts.get("agent-graph clone", 0.0)
    outside_ts = ts["total"] - ts.get("Runner.run", 0.0)
    outside_dbos = dbos["total"] - steps_dbos
    return {
        "store calls": store,
        SDK_STATE: sum(ts.get(label, 0.0) for label in SDK_STATE_CALLS),
        "agent-graph clone": clone,
        "rest outside the SDK run": outside_ts - outside_dbos - store - clone,
        "DBOS's calls, slower": sys_ts - sys_dbos,
        "step bodies": (steps_ts - sys_ts - work_ts) - (steps_dbos - sys_dbos),
        "model and tool wrappers": wrapped - steps_ts,
        "SDK beside the wrappers": ts.get("Runner.run", 0.0)
        - wrapped
        - (stock["total"] - work_stock),
        "the work, slower": work_ts - work_stock,
        "own": ts["total"] - stock["total"] - dbos["total"],
    }


#: The fourth kind of run of ``--sdk-state``: timestep with the SDK's own state serialisation.
SDK_STATE_RUN = "timestep, the SDK's own to_state and to_json"
#: The fourth kind of run of ``--dbos-hops``: timestep's steps with DBOS's own thread hops.
DBOS_HOPS_RUN = "timestep, DBOS's three thread hops per step"
#: The fourth kind of run of ``--dbos-sql``: timestep's steps checked and recorded by DBOS's code.
DBOS_SQL_RUN = "timestep, DBOS's own SQL for each step's check and record"


@contextlib.contextmanager
def _sdk_state_paths() -> Iterator[None]:
    """The store saves with the SDK's own ``to_state`` and ``to_json`` inside the block."""
    import agents.result as result_module

    from timestep.state import _nested_refs, _store

    name = "rebase_nested_history_owned_item_refs"
    faster_rebase, faster_json = getattr(result_module, name), _store.state_json
    setattr(result_module, name, _nested_refs.ORIGINALS.get(name, faster_rebase))
    _store.state_json = lambda state: state.to_json()
    try:
        yield
    finally:
        setattr(result_module, name, faster_rebase)
        _store.state_json = faster_json


@contextlib.contextmanager
def _dbos_hops() -> Iterator[None]:
    """Every call around timestep's steps hops to DBOS's executor inside the block."""
    from dbos._dbos import _get_dbos_instance

    executor: Any = _get_dbos_instance()._executor_field  # timestep's RoutedExecutor
    on_loop = executor.inline
    executor.inline = frozenset()
    try:
        yield
    finally:
        executor.inline = on_loop


@contextlib.contextmanager
def _dbos_sql() -> Iterator[None]:
    """Every step's check and record takes DBOS's own method inside the block."""
    from dbos._dbos import _get_dbos_instance

    from timestep.durable._step_sql import step_rows

    rows = step_rows(_get_dbos_instance()._sys_db)
    assert rows is not None, "timestep's compiled step statements are not installed"
    rows.enabled = False
    try:
        yield
    finally:
        rows.enabled = True


#: ``--sdk-state``, ``--dbos-hops``, ``--dbos-sql``: the fourth run's name, what it turns off,
#: what it saves.
VARIANTS: dict[str, tuple[str, Callable[[], contextlib.AbstractContextManager[None]], str]] = {
    "sdk_state": (SDK_STATE_RUN, _sdk_state_paths, "the store's paths"),
    "dbos_hops": (DBOS_HOPS_RUN, _dbos_hops, "the steps' hops on the loop"),
    "dbos_sql": (DBOS_SQL_RUN, _dbos_sql, "the steps' compiled statements"),
}


async def _measure(target: str, runs: int, variant: str | None = None) -> dict[str, Any]:
    clock = _Clock()
    clock.install()
    from dbos import SetWorkflowID

    from timestep.durable import run_durable, shutdown
    from timestep.durable._runtime import RUNTIME
    from timestep.state import RunStateStore

    store = RunStateStore(target)
    agent = _agent(0.0)
    _time_work(clock, agent)
    empty, _nothing = _empty_steps_workflow()
    await asyncio.to_thread(RUNTIME.launch, target)

    async def one_ts(rid: str) -> None:
        result = await run_durable(agent, "go", run_id=rid, store=store, max_turns=20)
        assert result.final_output == "done"

    async def one_dbos(rid: str) -> None:
        with SetWorkflowID(rid):
            assert await empty() == STEPS

    async def one_stock(_rid: str) -> None:
        await _stock_one(agent.clone())

    kinds = {"stock": one_stock, "dbos": one_dbos, "timestep": one_ts}
    if variant is not None:
        fourth, turned_off, _saver = VARIANTS[variant]

        async def one_variant(rid: str) -> None:
            with turned_off():
                await one_ts(rid)

        kinds[fourth] = one_variant
    seen: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    calls: dict[str, dict[str, int]] = {}
    try:
        for i in range(runs + 3):
            order = list(kinds.items())
            if variant and i % 2:  # the two timestep runs take turns at going first
                order[-2], order[-1] = order[-1], order[-2]
            for kind, one in order:
                clock.reset()
                start = time.perf_counter()
                await one(f"{kind}-{i}")
                spent = dict(clock.spent, total=time.perf_counter() - start)
                if i >= 3:
                    seen[kind].append(spent)
                    calls[kind] = dict(clock.calls)
    finally:
        shutdown()
    triples = (seen["stock"], seen["dbos"], seen["timestep"])
    parts = [split(s, d, t) for s, d, t in zip(*triples, strict=True)]
    low, high = median_interval([x["own"] for x in parts])
    extra: dict[str, Any] = {}
    if variant is not None:
        fourth = VARIANTS[variant][0]
        own = [split(s, d, t)["own"] for s, d, t in zip(*triples[:2], seen[fourth], strict=True)]
        # paired: each round's two timestep runs, minus each other (same moment, same load)
        saved = [
            a["total"] - b["total"] for a, b in zip(seen[fourth], seen["timestep"], strict=True)
        ]
        extra[variant] = {
            "own_ms": statistics.median(own) * 1e3,
            "own_interval_ms": [ms * 1e3 for ms in median_interval(own)],
            "saved_ms": statistics.median(saved) * 1e3,
            "saved_interval_ms": [ms * 1e3 for ms in median_interval(saved)],
        }
    return {
        **extra,
        "runs": runs,
        "own_interval_ms": [low * 1e3, high * 1e3],
        "total_ms": {k: statistics.median(r["total"] for r in v) * 1e3 for k, v in seen.items()},
        "parts_ms": {
            p: statistics.median(x[p] for x in parts) * 1e3 for p in [*PARTS, SDK_STATE, "own"]
        },
        "calls_per_run": calls,
        "calls_ms": {
            kind: {
                label: statistics.median(r.get(label, 0.0) for r in v) * 1e3
                for label in calls.get(kind, {})
            }
            for kind, v in seen.items()
        },
    }


def _child(db: str, target: str, runs: int, variant: str | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--target", target]
    cmd += ["--runs", str(runs), "--db", db]
    cmd += [f"--{variant.replace('_', '-')}"] if variant else []
    env = dict(os.environ, TIMESTEP_DBOS_LOG_LEVEL="ERROR", OPENAI_AGENTS_DISABLE_TRACING="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{db} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """The breakdown as a Markdown table, one column per database."""
    dbs = list(results)
    lines = [
        "| ms per run | " + " | ".join(dbs) + " |",
        "|---|" + "---:|" * len(dbs),
    ]
    names = {"stock": "stock SDK run", "dbos": "DBOS, 11 empty steps", "timestep": "timestep"}
    for fourth, _off, _saver in VARIANTS.values():
        if all(fourth in results[db]["total_ms"] for db in dbs):
            names[fourth] = fourth
    for kind, name in names.items():
        cells = " | ".join(f"{results[db]['total_ms'][kind]:.1f}" for db in dbs)
        lines.append(f"| {name} | {cells} |")
    own = " | ".join(
        f"**{results[db]['parts_ms']['own']:.1f}** ({results[db]['parts_ms']['own'] / STEPS:.2f}"
        " per step; the median's 95% interval "
        + " - ".join(f"{ms / STEPS:.2f}" for ms in results[db]["own_interval_ms"])
        + ")"
        for db in dbs
    )
    lines.append(f"| **own cost** (timestep - stock - DBOS) | {own} |")
    for variant in VARIANTS:
        if all(variant in results[db] for db in dbs):
            lines += _variant_rows(variant, [results[db][variant] for db in dbs])
    for part in PARTS:
        cells = " | ".join(f"{results[db]['parts_ms'][part]:.1f}" for db in dbs)
        lines.append(f"| - {part} | {cells} |")
        if part == "store calls":
            cells = " | ".join(f"{results[db]['parts_ms'][SDK_STATE]:.1f}" for db in dbs)
            lines.append(f"| &nbsp;&nbsp;{SDK_STATE} | {cells} |")
    return lines


def _variant_rows(variant: str, found: list[dict[str, Any]]) -> list[str]:
    """A fourth run's two rows: its own cost, and what the faster path saves per run."""

    def cell(ms: float, interval: list[float]) -> str:
        low, high = interval
        return (
            f"{ms:.2f} ({ms / STEPS:.3f} per step; the median's 95% interval "
            f"{low / STEPS:.3f} - {high / STEPS:.3f})"
        )

    own = " | ".join(cell(f["own_ms"], f["own_interval_ms"]) for f in found)
    saved = " | ".join(cell(f["saved_ms"], f["saved_interval_ms"]) for f in found)
    fourth, _off, saver = VARIANTS[variant]
    return [
        f'| own cost of "{fourth}" | {own} |',
        f"| saved by {saver} (the two timestep runs of a round, paired) | {saved} |",
    ]


def main() -> None:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the raw JSON")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--target", default="-")
    fourth = parser.add_mutually_exclusive_group()
    fourth.add_argument(
        "--sdk-state",
        action="store_true",
        help="also run timestep with the SDK's own to_state and to_json, in each round",
    )
    fourth.add_argument(
        "--dbos-hops",
        action="store_true",
        help="also run timestep with DBOS's three thread hops per step, in each round",
    )
    fourth.add_argument(
        "--dbos-sql",
        action="store_true",
        help="also run timestep with DBOS's own SQL for each step's check and record",
    )
    args = parser.parse_args()
    variant = next((v for v in VARIANTS if getattr(args, v)), None)
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.target, args.runs, variant))))
        return
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, DatabaseTargets(tmp) as targets:
        for db in dbs:
            target = targets.target(db, "breakdown")
            watch = MachineWatch().start()
            result = _child(db, target, args.runs, variant)
            result["machine"] = watch.stop().to_json()
            results["SQLite file" if db == "sqlite" else "Postgres"] = result
    if args.json:
        print(json.dumps(results, indent=1))
        return
    load = os.getloadavg()[0]
    print(f"{args.runs} triples after 3 warm-ups, medians; load average {load:.1f} at the end")
    for db, result in results.items():
        print(f"{db}: {MachineState(**result['machine']).describe()}")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
