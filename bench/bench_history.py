"""Cost against history: store operations as the database grows (SQLite file and Postgres).

The database is grown in place to each size of ``--sizes`` (runs) by bulk inserts into the store's
own tables: a constant ``--waiting`` runs wait for an approval, every other run is done and has one
recorded decision (so history holds as many decisions as runs). At each size it times (median of
``--repeat``) and counts the SQL statements of: appending a version to a run (``save_json``),
reading the latest version (``get``) and rebuilding the RunState (``load``), ``list_runs()``,
a page of it (``list_runs(limit=50)``, and at ``offset=500``), ``list_runs(status="waiting")``,
filtered pages (``agent=``, ``search=``, ``updated_since=`` the newest 100 runs; ``limit=50``),
``count_runs`` (all, by agent, since), the inbox's approvals list (``pending_approvals``)
and ``change_marker()`` (which the inbox polls for its live events). Then one run is grown to each
of ``--versions`` versions and its save and loads are timed. Every statement run is EXPLAINed; a
full table scan or a sort of a table is printed next to the operation.

    .venv/bin/python bench/bench_history.py                      # prints, and updates README
    .venv/bin/python bench/bench_history.py --sizes 1000,10000 --no-postgres --no-readme
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEADING = "## Cost against history (bench_history.py)"
CHUNK = 5000


@dataclass
class Statements:
    """SQL statements seen on one engine while ``active``."""

    active: bool = False
    seen: list[tuple[str, Any]] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        def _before(_conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
            if self.active:
                self.seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", _before)


async def _template() -> tuple[dict[str, Any], dict[str, Any], Any]:
    """A waiting state (one pending ``refund``), a done state, and their agent."""
    from agents import Agent, Runner, function_tool
    from agents.testing import ScriptedModel, assistant_message, function_call

    @function_tool(needs_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    async def make() -> tuple[dict[str, Any], dict[str, Any]]:
        waiting_agent = Agent(
            name="support",
            tools=[refund],
            model=ScriptedModel([[function_call("refund", {"order_id": "1"}, call_id="c1")]]),
        )
        waiting = await Runner.run(waiting_agent, "order 1", max_turns=3)
        done_agent = Agent(
            name="support", tools=[refund], model=ScriptedModel([[assistant_message("ok")]])
        )
        done = await Runner.run(done_agent, "order 2", max_turns=3)
        return waiting.to_state().to_json(), done.to_state().to_json()

    waiting, done = await make()
    return waiting, done, Agent(name="support", tools=[refund])


#: ``updated_at`` of run ``i`` is this plus ``i`` seconds.
_FILL_START = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(url: str, start: int, stop: int, waiting: set[int], docs: Any) -> None:
    """Runs ``start..stop-1`` (ids ``run-<i>``) with one version; done runs get one decision."""
    from timestep.state._bulk import insert_rows
    from timestep.state._describe import state_facts
    from timestep.state._integrity import body_checksum
    from timestep.state._records import dump_pending

    base = _FILL_START
    rows: dict[str, tuple[str, str, str]] = {}
    for kind, doc in (("waiting", docs[0]), ("done", docs[1])):
        body = json.dumps(doc)
        pending = dump_pending(state_facts(doc).pending_approvals)
        rows[kind] = (body, body_checksum(body), pending)
    for lo in range(start, stop, CHUNK):
        run_rows, state_rows, decision_rows = [], [], []
        for i in range(lo, min(stop, lo + CHUNK)):
            kind = "waiting" if i in waiting else "done"
            body, digest, pending = rows[kind]
            now = (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as the store
            rid = f"run-{i}"
            facts = {"agent_name": "support", "status": kind, "language": "python"}
            run_rows.append(
                {
                    "run_id": rid,
                    "latest_version": 0,
                    "pending_approvals": pending,
                    "metadata": None,
                    "created_at": now,
                    "updated_at": now,
                    **facts,
                }
            )
            state_rows.append(
                {
                    "run_id": rid,
                    "version": 0,
                    "sdk_version": "0.24.0",
                    "schema_version": str(json.loads(body).get("$schemaVersion", "")),
                    "pending_approvals": pending,
                    "state_json": body,
                    "state_sha256": digest,
                    "created_at": now,
                    **facts,
                }
            )
            if kind == "done":
                decision_rows.append(
                    {
                        "run_id": rid,
                        "call_id": "c1",
                        "tool_name": "refund",
                        "decision": "approve",
                        "always": False,
                        "reason": None,
                        "decided_by": "bench",
                        "decided_at": now,
                        "state_version": 0,
                    }
                )
        insert_rows(url, runs=run_rows, states=state_rows, decisions=decision_rows)


def _grow_versions(url: str, run_id: str, have: int, want: int, doc: dict[str, Any]) -> None:
    """Give ``run_id`` versions ``have..want-1`` (bulk), then point its row at the newest."""
    if want <= have:
        return
    from timestep.state._bulk import insert_rows, point_run_at
    from timestep.state._integrity import body_checksum

    body = json.dumps(doc)
    now = datetime.now(UTC).isoformat()
    rows = [
        {
            "run_id": run_id,
            "version": v,
            "agent_name": "support",
            "status": "done",
            "language": "python",
            "sdk_version": "0.24.0",
            "schema_version": str(doc.get("$schemaVersion", "")),
            "pending_approvals": "[]",
            "state_json": body,
            "state_sha256": body_checksum(body),
            "created_at": now,
        }
        for v in range(have, want)
    ]
    insert_rows(url, states=rows)
    point_run_at(url, run_id, want - 1, now)


def _plan(engine: Engine, statement: str, params: Any) -> list[str]:
    """Full scans and sorts in the plan of ``statement`` (empty when every access is indexed)."""
    head = statement.lstrip().split(None, 1)[0].upper()
    if head not in ("SELECT", "UPDATE", "DELETE", "INSERT"):
        return []
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute(prefix + statement, params)
        lines = [str(row[-1] if sqlite else row[0]) for row in cursor.fetchall()]
        conn.rollback()
    bad = []
    for line in lines:
        if sqlite:
            scan = line.startswith("SCAN ") and "COVERING INDEX" not in line
            if scan or "TEMP B-TREE" in line:
                bad.append(line.strip())
        elif "Seq Scan" in line or line.strip().startswith("->  Sort") or "Sort  (" in line:
            bad.append(line.strip().lstrip("-> ").split("  (")[0])
    return bad


@dataclass
class Measure:
    """Median ms, statements per call, and the plan problems of one operation."""

    ms: float
    statements: int
    problems: list[str]


async def _measure(
    engine: Engine, counter: Statements, op: Callable[[], Awaitable[Any]], repeat: int
) -> Measure:
    await op()  # warm (pool, caches)
    times = []
    for _ in range(repeat):
        counter.seen.clear()
        counter.active = True
        start = time.perf_counter()
        await op()
        times.append(time.perf_counter() - start)
        counter.active = False
    seen = list(counter.seen)
    problems: list[str] = []
    for statement, params in seen:
        for problem in _plan(engine, statement, params):
            if problem not in problems:
                problems.append(problem)
    return Measure(statistics.median(times) * 1000, len(seen), problems)


Result = dict[str, dict[str, Measure]]  # size label -> operation -> measure


async def _bench(url: str, sizes: list[int], versions: list[int], args: Any) -> Result:
    from timestep.runs import pending_approvals
    from timestep.state import RunStateStore
    from timestep.state._bulk import analyze, store_engine

    waiting_doc, done_doc, agent = await _template()
    store = RunStateStore(url, agent)
    store.open()
    engine = store_engine(url)
    counter = Statements()
    counter.attach(engine)
    waiting = set(range(args.waiting))  # the oldest runs: history grows after them
    have = 0
    result: Result = {}
    hot = "run-1"  # a done run that gets a new version each save
    for size in sizes:
        start = time.perf_counter()
        _fill(url, have, size, waiting & set(range(have, size)), (waiting_doc, done_doc))
        have = size
        analyze(url)
        print(f"  filled {size} runs in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        recent = _FILL_START + timedelta(seconds=size - 100)  # the newest 100 runs
        ops: dict[str, Callable[[], Awaitable[Any]]] = {
            "save (append a version)": lambda: store.save_json(hot, done_doc, language="python"),
            "get latest version": lambda: store.get(hot),
            "load (get + RunState)": lambda: store.load(hot),
            "list_runs()": lambda: store.list_runs(),
            "list_runs(limit=50) (first page)": lambda: store.list_runs(limit=50),
            "list_runs(limit=50, offset=500)": lambda: store.list_runs(limit=50, offset=500),
            "list_runs(status=waiting)": lambda: store.list_runs(status="waiting"),
            "list_runs(agent=, limit=50)": lambda: store.list_runs(agent="support", limit=50),
            "list_runs(search=, limit=50)": lambda: store.list_runs(search="RUN-1", limit=50),
            "list_runs(updated_since=, limit=50)": lambda since=recent: store.list_runs(
                updated_since=since, limit=50
            ),
            "count_runs()": lambda: store.count_runs(),
            "count_runs(agent=)": lambda: store.count_runs(agent="support"),
            "count_runs(updated_since=)": lambda since=recent: store.count_runs(
                updated_since=since
            ),
            "inbox approvals list": lambda: pending_approvals(store),
            "change_marker()": store.change_marker,
        }
        result[f"{size:,} runs"] = {
            name: await _measure(engine, counter, op, args.repeat) for name, op in ops.items()
        }
        print(f"  measured {size} runs", file=sys.stderr)
    deep = "deep-run"
    await store.save_json(deep, done_doc, language="python")  # version 1
    for want in versions:
        latest = (await store.run(deep)).latest_version
        _grow_versions(url, deep, latest + 1, max(latest, want) + 1, done_doc)
        ops = {
            "save (append a version)": lambda: store.save_json(deep, done_doc, language="python"),
            "get latest version": lambda: store.get(deep),
            "get version 1": lambda: store.get(deep, version=1),
            "versions() (metadata of all)": lambda: store.versions(deep),
        }
        measured = {}
        for name, op in ops.items():
            measured[name] = await _measure(engine, counter, op, args.repeat)
        result[f"{max(latest, want):,} versions of one run"] = measured
    await store.close()
    return result


def _postgres() -> tuple[Any, str | None]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from harness.postgres import PostgresServer, PostgresUnavailable, create_database
    except ImportError:
        return None, None
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable:
        return None, None
    return server, str(create_database(server.url()))


def _growth(result: Result, labels: list[str], op: str) -> str:
    """Largest over smallest size's median (runs, else versions): ~1x is flat, 100x is linear."""
    for kind in ("runs", "versions of one run"):
        cells = [
            result[label][op] for label in labels if label.endswith(kind) and op in result[label]
        ]
        if len(cells) >= 2 and cells[0].ms > 0:
            return f"{cells[-1].ms / cells[0].ms:.1f}x"
    return ""


def _table(database: str, result: Result) -> list[str]:
    labels = list(result)
    ops: list[str] = []
    for measured in result.values():
        ops.extend(op for op in measured if op not in ops)
    lines = [
        f"{database}: median ms (SQL statements per call)",
        "",
        "| operation | "
        + " | ".join(labels)
        + " | largest / smallest size | full scans or sorts in the plan |",
        "|---|" + "---:|" * (len(labels) + 1) + "---|",
    ]
    for op in ops:
        cells, problems = [], []
        for label in labels:
            found = result[label].get(op)
            cells.append("" if found is None else f"{found.ms:.2f} ({found.statements})")
            for problem in [] if found is None else found.problems:
                if problem not in problems:
                    problems.append(problem)
        cells.append(_growth(result, labels, op))
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {'; '.join(problems) or '-'} |")
    return lines


def _update_readme(section: str) -> None:
    readme = HERE / "README.md"
    current = readme.read_text()
    if HEADING in current:
        before, _, after = current.partition(HEADING)
        rest = after.split("\n## ", 1)
        tail = "\n## " + rest[1] if len(rest) > 1 else ""
        current = before + section + tail
    else:
        current = current.rstrip("\n") + "\n\n" + section
    readme.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--versions", default="1,100,1000")
    parser.add_argument("--waiting", type=int, default=20, help="waiting runs at every size")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    versions = [int(v) for v in args.versions.split(",")]
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite file", file=sys.stderr)
        sqlite = asyncio.run(_bench(f"sqlite:///{tmp}/history.db", sizes, versions, args))
        out += [*_table("SQLite file", sqlite), ""]
    if not args.no_postgres:
        server, url = _postgres()
        if url is None:
            out.append("Postgres: not measured (no server)")
        else:
            try:
                print("Postgres", file=sys.stderr)
                pg = asyncio.run(_bench(url, sizes, versions, args))
                out += [*_table("Postgres", pg), ""]
            finally:
                if server is not None:
                    server.stop()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(out).rstrip("\n")
    print(body)
    if not args.no_readme:
        cmd = "python bench/bench_history.py " + " ".join(sys.argv[1:])
        _update_readme(
            f"{HEADING}\n\nMeasured {stamp} by `{cmd.strip()}` ({args.waiting} waiting runs at "
            f"every size, every other run done with one recorded decision).\n\n{body}\n"
        )


if __name__ == "__main__":
    main()
