"""SQL round trips per durable run: timestep durable vs DBOS's own workflow of empty steps.

Counts, on every SQLAlchemy engine of the process (timestep's store and DBOS's system database),
the statements executed, the transactions begun and committed and the pool checkouts (with the
statements the store runs on the driver's connection, ``timestep.state._driver``), during
``--runs`` sequential runs of bench_durable.py's workload (11 steps per run) after one warm-up run,
and says where each statement came from (the innermost timestep or DBOS function that issued it).
On Postgres every statement, BEGIN and COMMIT is one network round trip.

    .venv/bin/python bench/bench_statements.py --db postgres     # or --db sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import STEPS, DatabaseTargets, _agent, _empty_steps_workflow  # noqa: E402


class Counter:
    """Statements, BEGINs, COMMITs and pool checkouts on every engine while ``active``."""

    def __init__(self) -> None:
        self.active = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.sites: collections.Counter[str] = collections.Counter()

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        def statement(_c: Any, _k: Any, text: str, *_a: Any) -> None:
            if self.active:
                self.counts["statements"] += 1
                verb = text.lstrip().split(None, 1)[0].upper()
                self.sites[f"{_site()} {verb}"] += 1

        def begin(conn: Any) -> None:
            if self.active and not _autocommit(conn):
                self.counts["begin"] += 1

        def commit(conn: Any) -> None:
            if self.active and not _autocommit(conn):
                self.counts["commit"] += 1

        def rollback(conn: Any) -> None:
            if self.active and not _autocommit(conn):
                self.counts["rollback"] += 1

        def checkout(*_a: Any) -> None:
            if self.active:
                self.counts["checkouts"] += 1

        from timestep.state import _driver

        def driver_statement(_engine: Any, text: str) -> None:
            if not self.active:
                return
            verb = text.lstrip().split(None, 1)[0].upper()
            kind = {"BEGIN": "begin", "COMMIT": "commit", "ROLLBACK": "rollback"}.get(verb)
            if kind is not None:
                self.counts[kind] += 1
            else:
                self.counts["statements"] += 1
                self.sites[f"{_site()} {verb}"] += 1

        _driver.statement_listeners.append(driver_statement)
        event.listen(Engine, "before_cursor_execute", statement)
        event.listen(Engine, "begin", begin)
        event.listen(Engine, "commit", commit)
        event.listen(Engine, "rollback", rollback)
        event.listen(Pool, "checkout", checkout)


def _autocommit(conn: Any) -> bool:
    """Whether the driver connection is in autocommit (psycopg sends no BEGIN, COMMIT, ROLLBACK)."""
    driver = conn.connection.driver_connection
    return getattr(driver, "autocommit", False) is True


#: ``durable/_step_sql.py``'s entry points (DBOS's method runs behind them outside a segment)
#: and its statements' runner: the site is the function inside them, or the caller's.
_STEP_SQL_PASSING = frozenset({"check_operation_execution", "record_operation_result", "run"})


def _site() -> str:
    """The innermost timestep (else DBOS) function on the stack, as ``package:file:function``."""
    frames = traceback.extract_stack()
    for marker, label in (("/timestep/", "timestep"), ("/dbos/", "dbos")):
        for frame in reversed(frames):
            if frame.name == "execute" and frame.filename.endswith("_driver.py"):
                continue  # the listener's own wrapper: its caller is the site
            if frame.filename.endswith("_step_sql.py") and frame.name in _STEP_SQL_PASSING:
                continue  # DBOS's own method behind it, or the statement's runner: not a site
            if marker in frame.filename and "bench_" not in frame.filename:
                return f"{label}:{Path(frame.filename).stem}:{frame.name}"
    return "other"


async def _timestep(target: str, runs: int, counter: Counter) -> None:
    from timestep.durable import run_durable, shutdown
    from timestep.state import RunStateStore

    store = RunStateStore(target)
    agent = _agent(0)
    try:
        await run_durable(agent, "go", run_id="warm", store=store, max_turns=20)
        counter.active = True
        for i in range(runs):
            result = await run_durable(agent, "go", run_id=f"r{i}", store=store, max_turns=20)
            assert result.final_output == "done"
        counter.active = False
    finally:
        shutdown()


async def _dbos(target: str, runs: int, counter: Counter) -> None:
    from dbos import DBOS, SetWorkflowID

    from timestep.durable._runtime import RUNTIME

    workflow, _nothing = _empty_steps_workflow()
    await asyncio.to_thread(RUNTIME.launch, target)
    try:
        with SetWorkflowID("warm"):
            await workflow()
        counter.active = True
        for i in range(runs):
            with SetWorkflowID(f"e{i}"):
                assert await workflow() == STEPS
        counter.active = False
    finally:
        DBOS.destroy()


def child(mode: str, target: str, runs: int) -> None:
    counter = Counter()
    counter.install()
    asyncio.run((_timestep if mode == "timestep" else _dbos)(target, runs, counter))
    per_run = {k: v / runs for k, v in counter.counts.items()}
    sites = {k: v / runs for k, v in counter.sites.most_common()}
    print(json.dumps({"per_run": per_run, "sites": sites}))


def _run_child(mode: str, target: str, runs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--target", target, "--runs", str(runs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child")
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.target, args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp, DatabaseTargets(tmp) as targets:
        results = {}
        for mode in ("dbos", "timestep"):
            results[mode] = _run_child(mode, targets.target(args.db, mode), args.runs)
    keys = ["statements", "begin", "commit", "rollback", "checkouts"]
    print(f"per run of {STEPS} steps on {args.db} ({args.runs} runs after a warm-up)")
    print("| | " + " | ".join(keys) + " | round trips (statements+begin+commit+rollback) |")
    for mode, found in results.items():
        per = found["per_run"]
        trips = sum(per.get(k, 0) for k in ("statements", "begin", "commit", "rollback"))
        cells = " | ".join(f"{per.get(k, 0):.1f}" for k in keys)
        print(f"| {mode} | {cells} | {trips:.1f} ({trips / STEPS:.2f} per step) |")
    print("\nwhere timestep durable's statements come from (per run):")
    for site, count in results["timestep"]["sites"].items():
        print(f"  {count:6.1f}  {site}")
    print("\nDBOS empty steps (per run):")
    for site, count in results["dbos"]["sites"].items():
        print(f"  {count:6.1f}  {site}")


if __name__ == "__main__":
    main()
