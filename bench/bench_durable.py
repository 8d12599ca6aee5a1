"""Durable-execution overhead, Python and TypeScript side by side in one run.

Python: stock SDK vs timestep durable vs dbos-openai-agents vs LangGraph vs DBOS alone.
TypeScript (``ts/bench/durable.mjs``, one Node process per mode): stock JS SDK vs timestep's
durable TS runs vs DBOS TS alone, on the embedded PGlite (SQLite store) and on Postgres.

Workload: 5 tool-call turns (6 model calls + 5 tool calls = 11 steps) against an instant scripted
model, run sequentially; the median wall time per run minus the stock SDK's median (of the same
language), divided by 11, is the durable overhead per step. Each framework runs in its own process
on a fresh database in one temporary directory (a SQLite file, or a fresh database on one
throwaway Postgres server). A second workload runs 1,000 runs concurrently against a scripted
model with 50 ms latency and compares the wall time with the latency-bound ideal (6 model calls x
50 ms) and with the stock SDK of the same language.

    make bench                                    # = the next line (builds ts/ first)
    python bench/bench_durable.py                 # everything, writes bench/README.md section
    python bench/bench_durable.py --runs 5 --own-runs 5 --concurrent 50 --no-readme   # quick check
    python bench/bench_durable.py --no-ts         # Python only

Needs ``pip install -r bench/requirements.txt`` and, for TypeScript, Node 20 with ``ts/``'s
node_modules (``npm --prefix ts ci``). Postgres: ``$TIMESTEP_BENCH_POSTGRES_URL`` or Debian's
PostgreSQL 15 binaries (started like the tests' fixture).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict


class State(TypedDict):
    """LangGraph state of the equivalent graph."""

    turn: int
    log: list[str]


TURNS = 5
STEPS = 2 * TURNS + 1
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# ---- shared workload ------------------------------------------------------------------------


def _agent(latency: float, name: str = "bench") -> Any:
    """An agent with one tool and an instant (or ``latency``-delayed) stateless scripted model."""
    from agents import Agent, Model, ModelResponse, Usage, function_tool
    from agents.testing import assistant_message, function_call

    class Scripted(Model):
        async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
            if latency:
                await asyncio.sleep(latency)
            given = kwargs.get("input", args[1] if len(args) > 1 else None)
            items = given if isinstance(given, list) else []
            turn = sum(
                1 for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"
            )
            output = (
                [function_call("add", {"n": turn}, call_id=f"call_{turn}")]
                if turn < TURNS
                else [assistant_message("done")]
            )
            return ModelResponse(output=output, usage=Usage(requests=1), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    @function_tool
    def add(n: int) -> str:
        """Add one."""
        return str(n + 1)

    return Agent(name=name, model=Scripted(), tools=[add])


async def _stock_one(agent: Any) -> None:
    from agents import Runner

    result = await Runner.run(agent, "go", max_turns=20)
    assert result.final_output == "done"


async def _in_turn(runs: int, named: dict[str, Any]) -> dict[str, list[float]]:
    """Run each of ``named`` in turn ``runs`` times after 3 warm-ups (to cancel load drift)."""
    for i in range(3):
        for name, one in named.items():
            await one(f"warm-{name}-{i}")
    out: dict[str, list[float]] = {name: [] for name in named}
    for i in range(runs):
        for name, one in named.items():
            start = time.perf_counter()
            await one(f"{name}-{i}")
            out[name].append(time.perf_counter() - start)
    return out


async def _paired(runs: int, base: Any, one: Any) -> dict[str, list[float]]:
    """Alternate a stock run and a durable run ``runs`` times (paired, to cancel load drift)."""
    return await _in_turn(runs, {"base": base, "durable": one})


# ---- modes (each in its own process) -------------------------------------------------------


async def mode_stock(args: argparse.Namespace) -> dict[str, Any]:
    from agents import Runner

    agent = _agent(args.latency)
    if args.worker_gc:  # the collector as a `timestep worker` process tunes it
        from timestep.cli._gc import tune_gc, worker_gc_threshold

        tune_gc(worker_gc_threshold())

    async def one(_rid: str) -> None:
        # --clone: one Agent object per run, as the SDK advises for concurrent runs (it checks
        # every turn for tool changes across all live runs sharing an Agent: O(runs) per turn)
        result = await Runner.run(agent.clone() if args.clone else agent, "go", max_turns=20)
        assert result.final_output == "done"

    if args.concurrent:
        return await _concurrent(args, one)
    return await _paired(args.runs, one, one)


async def mode_timestep(args: argparse.Namespace) -> dict[str, Any]:
    from timestep.durable import run_durable, shutdown
    from timestep.state import RunStateStore

    store = RunStateStore(args.target)
    agent = _agent(args.latency)

    async def one(rid: str) -> None:
        result = await run_durable(agent, "go", run_id=rid, store=store, max_turns=20)
        assert result.final_output == "done"

    plain = _agent(args.latency)
    try:
        if args.concurrent:
            return await _concurrent(args, one)
        return await _paired(args.runs, lambda _r: _stock_one(plain), one)
    finally:
        shutdown()


async def mode_dbos_openai_agents(args: argparse.Namespace) -> dict[str, Any]:
    from dbos import DBOS, DBOSConfig, SetWorkflowID
    from dbos_openai_agents import DBOSRunner

    agent = _agent(args.latency)

    @DBOS.workflow()
    async def workflow() -> str:
        result = await DBOSRunner.run(agent, "go", max_turns=20)
        return str(result.final_output)

    url = args.target
    if url.startswith("postgresql") and "+psycopg" not in url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    config: DBOSConfig = {"name": "bench", "system_database_url": url, "log_level": "WARNING"}
    DBOS(config=config)
    DBOS.launch()

    async def one(rid: str) -> None:
        with SetWorkflowID(rid):
            assert await workflow() == "done"

    plain = _agent(args.latency)
    try:
        return await _paired(args.runs, lambda _r: _stock_one(plain), one)
    finally:
        DBOS.destroy()


def _empty_steps_workflow() -> Any:
    """DBOS itself: a workflow of 11 empty async steps (registered once per process)."""
    from dbos import DBOS

    async def nothing() -> int:
        return 1

    @DBOS.workflow(name="bench.empty_steps")
    async def workflow() -> int:
        total = 0
        for _ in range(STEPS):
            total += await DBOS.run_step_async({"name": "empty"}, nothing)
        return total

    return workflow, nothing


async def mode_dbos_steps(args: argparse.Namespace) -> dict[str, Any]:
    """DBOS itself: a workflow of 11 empty async steps vs the same 11 awaits without DBOS."""
    from dbos import SetWorkflowID

    from timestep.durable._runtime import RUNTIME

    workflow, nothing = _empty_steps_workflow()
    await asyncio.to_thread(RUNTIME.launch, args.target)  # WAL, JSON serializer

    async def base(_rid: str) -> None:
        for _ in range(STEPS):
            await nothing()

    async def one(rid: str) -> None:
        with SetWorkflowID(rid):
            assert await workflow() == STEPS

    try:
        return await _paired(args.runs, base, one)
    finally:
        RUNTIME.shutdown()


async def mode_own(args: argparse.Namespace) -> dict[str, Any]:
    """timestep's own cost: stock run, DBOS's empty steps and a timestep run, in turn, one process.

    Both baselines and the durable run share the process, the database and the moment, so the
    difference ``timestep - stock - DBOS`` per triple is what timestep adds above the stock SDK's
    work and DBOS's own step cost (issue 16, goals 1 and 2).
    """
    from dbos import SetWorkflowID

    from timestep.durable import run_durable, shutdown
    from timestep.durable._runtime import RUNTIME
    from timestep.state import RunStateStore

    workflow, _nothing = _empty_steps_workflow()
    await asyncio.to_thread(RUNTIME.launch, args.target)
    store = RunStateStore(args.target)
    agent = _agent(0)

    async def stock(_rid: str) -> None:
        await _stock_one(agent.clone())

    async def dbos(rid: str) -> None:
        with SetWorkflowID(rid):
            assert await workflow() == STEPS

    async def durable(rid: str) -> None:
        result = await run_durable(agent, "go", run_id=rid, store=store, max_turns=20)
        assert result.final_output == "done"

    try:
        return await _in_turn(args.runs, {"stock": stock, "dbos": dbos, "timestep": durable})
    finally:
        shutdown()


def mode_langgraph(args: argparse.Namespace) -> dict[str, Any]:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, StateGraph

    def model(state: State) -> dict[str, Any]:
        return {"log": [*state["log"], f"model {state['turn']}"]}

    def tools(state: State) -> dict[str, Any]:
        return {"turn": state["turn"] + 1, "log": [*state["log"], "tool"]}

    def route(state: State) -> str:
        return "tools" if state["turn"] < TURNS else END

    graph = StateGraph(State)
    graph.add_node("model", model)
    graph.add_node("tools", tools)
    graph.set_entry_point("model")
    graph.add_conditional_edges("model", route)
    graph.add_edge("tools", "model")
    conn = sqlite3.connect(args.target, check_same_thread=False)
    durable = graph.compile(checkpointer=SqliteSaver(conn))
    plain = graph.compile()

    def invoke(app: Any, rid: str) -> None:
        out = app.invoke(
            {"turn": 0, "log": []}, {"configurable": {"thread_id": rid}, "recursion_limit": 50}
        )
        assert out["turn"] == TURNS

    async def base(rid: str) -> None:
        invoke(plain, rid)

    async def one(rid: str) -> None:
        invoke(durable, rid)

    return asyncio.run(_paired(args.runs, base, one))


async def _concurrent(args: argparse.Namespace, one: Any) -> dict[str, Any]:
    await one("warm-c")
    start = time.perf_counter()
    await asyncio.gather(*(one(f"c-{i}") for i in range(args.concurrent)))
    wall = time.perf_counter() - start
    return {"wall": wall, "ideal": (TURNS + 1) * args.latency, "runs": args.concurrent}


async def mode_queued(args: argparse.Namespace) -> dict[str, Any]:
    """``--concurrent`` runs queued at once, drained by ``timestep worker --processes N``.

    The wall time is the stores' own, from the first run's first row to the last run's save
    (bench_scaleout.py), so neither the queueing nor the workers' start-up is counted.
    """
    from bench_scaleout import LATENCY_ENV, _measure

    os.environ[LATENCY_ENV] = str(args.latency)
    if args.executor_threads:  # the worker processes inherit it
        os.environ["TIMESTEP_EXECUTOR_THREADS"] = str(args.executor_threads)
    per_process = -(-args.concurrent // args.processes)
    result = await _measure(args.target, args.processes, args.concurrent, per_process)
    return {"wall": result["wall"], "ideal": (TURNS + 1) * args.latency, "runs": args.concurrent}


MODES = {
    "stock": mode_stock,
    "timestep": mode_timestep,
    "dbos-openai-agents": mode_dbos_openai_agents,
    "dbos-steps": mode_dbos_steps,
    "own": mode_own,
    "queued": mode_queued,
}


# ---- orchestration --------------------------------------------------------------------------


def _spawn(mode: str, target: str, **extra: Any) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--mode", mode, "--target", target]
    return _run_child(mode, cmd + _flags(extra))


def _spawn_ts(mode: str, store: str, **extra: Any) -> dict[str, Any]:
    """One Node process of ``ts/bench/durable.mjs`` (TypeScript: stock JS SDK, timestep, DBOS)."""
    cmd = ["node", str(ROOT / "ts" / "bench" / "durable.mjs"), "--mode", mode, "--store", store]
    return _run_child(f"ts {mode} {extra.get('variant', '')}", cmd + _flags(extra))


def _flags(extra: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in extra.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value not in (None, False):
            out += [flag, str(value)]
    return out


def _run_child(name: str, cmd: list[str]) -> dict[str, Any]:
    env = dict(
        os.environ,
        TIMESTEP_DBOS_LOG_LEVEL="ERROR",
        OPENAI_AGENTS_DISABLE_TRACING="1",
        NODE_NO_WARNINGS="1",
    )
    env.pop("TIMESTEP_TS_DBOS_URL", None)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    print(f"  {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _postgres() -> tuple[Any, str | None]:
    """A Postgres server's URL: ``$TIMESTEP_BENCH_POSTGRES_URL``, else a throwaway server started
    here (returned too, for the caller to stop); ``(None, None)`` when neither is available."""
    sys.path.insert(0, str(ROOT / "tests"))  # harness.postgres: the server, or a database on it
    url = os.environ.get("TIMESTEP_BENCH_POSTGRES_URL")
    if url:
        return None, url
    try:
        from harness.postgres import PostgresServer, PostgresUnavailable
    except ImportError:
        return None, None
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable:
        return None, None
    return server, server.url()


def _fresh_pg(server_url: str) -> str:
    from harness.postgres import create_database

    return str(create_database(server_url))


class DatabaseTargets:
    """Fresh databases for one benchmark's child processes, each on its own database.

    ``target("sqlite", name)`` is a SQLite file in ``folder``; ``target("postgres", name)`` a new
    database on one Postgres server (see :func:`_postgres`), started on first use and stopped on
    exit. Without a server the script exits with a message.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._server: Any = None
        self._url: str | None = None

    def target(self, db: str, name: str) -> str:
        if db == "sqlite":
            return f"sqlite:///{self.folder / name}.db"
        if self._url is None:
            self._server, self._url = _postgres()
            if self._url is None:
                sys.exit("no Postgres server available")
        return _fresh_pg(self._url)

    def __enter__(self) -> DatabaseTargets:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.stop()


def _ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


Row = tuple[str, str, str, float, float, float]
Conc = tuple[str, str, dict[str, Any]]
SDK_CLONED = "OpenAI Agents SDK, no durability, one Agent clone per run"
#: The same, with the collector tuned as `timestep worker` processes tune it (a fair reference).
SDK_CLONED_WORKER_GC = (
    "OpenAI Agents SDK, no durability, one Agent clone per run, the collector as in "
    "`timestep worker` (`TIMESTEP_WORKER_GC`)"
)
SDK_JS = "OpenAI Agents SDK JS, no durability"
PGLITE = "PGlite (embedded, 1 connection) + SQLite store"


def _row(lang: str, name: str, db: str, result: dict[str, Any]) -> Row:
    base, durable = result["base"], result["durable"]
    per_step = statistics.median(d - b for b, d in zip(base, durable, strict=True)) * 1000 / STEPS
    return lang, name, db, _ms(base), _ms(durable), per_step


def _build_ts() -> None:
    """Compile ts/ (the bench imports ts/dist) so the figures are those of the checked-out code."""
    if not (ROOT / "ts" / "node_modules").is_dir():
        raise SystemExit("ts/node_modules is missing: run `npm --prefix ts ci` (or pass --no-ts)")
    tsc = ROOT / "ts" / "node_modules" / ".bin" / "tsc"
    subprocess.run([str(tsc), "-p", str(ROOT / "ts" / "tsconfig.json")], check=True, cwd=ROOT)


Own = tuple[str, str, dict[str, float]]


def median_ranks(n: int, level: float = 0.95) -> tuple[int, int]:
    """The 1-based ranks ``(j, k)`` of n sorted values that hold their population's median with
    probability at least ``level``, as close together as that allows (distribution-free).

    The count of values below the median is Binomial(n, 1/2): ``j`` is the largest rank with
    P(count < j) <= (1 - level) / 2 and ``k = n + 1 - j``. Too few values for ``level``: (1, n).
    """
    if n < 1:
        raise ValueError("no values")
    tail = (1 - level) / 2
    below, j = 0.0, 1
    for count in range(n):
        below += math.comb(n, count) / (1 << n)
        if below > tail:
            break
        j = count + 1  # P(count below <= count) <= tail: X_(count + 1) is still low enough
    j = min(j, (n + 1) // 2)
    return j, n + 1 - j


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A confidence interval of the median of ``values`` (see :func:`median_ranks`): where the
    median itself lies, not the spread of single values (the quartiles)."""
    ordered = sorted(values)
    j, k = median_ranks(len(ordered), level)
    return ordered[j - 1], ordered[k - 1]


#: Triples per language and database in the own-cost table (the median's interval narrows as
#: 1/sqrt(n); with 150 it was about +-0.04 ms per step on this machine on 2026-12-05).
OWN_RUNS = 150
#: The own-cost goals per step (issue 16): Postgres, and SQLite (PGlite for TypeScript's row).
OWN_GOALS = {"Postgres": 0.5}
OWN_GOAL_DEFAULT = 0.3


def own_verdict(low: float, high: float, goal: float) -> str:
    """Whether the goal is met at 95%: the whole interval at or under it, above it, or across."""
    if high <= goal:
        return "met"
    if low > goal:
        return "not met"
    return "within noise"


def _own_figures(result: dict[str, list[float]]) -> dict[str, float]:
    stock, dbos, durable = result["stock"], result["dbos"], result["timestep"]
    own = [(t - s - d) * 1000 / STEPS for s, d, t in zip(stock, dbos, durable, strict=True)]
    q1, _q2, q3 = statistics.quantiles(own, n=4)
    low, high = median_interval(own)
    return {
        "stock": _ms(stock),
        "dbos": _ms(dbos),
        "timestep": _ms(durable),
        "own": statistics.median(own),
        "q1": q1,
        "q3": q3,
        "ci_low": low,
        "ci_high": high,
    }


def _own(args: argparse.Namespace, tmp: Path, pg: str | None) -> list[Own]:
    """timestep's own cost per step above the stock run and DBOS's empty steps (one process).

    Python on a SQLite file and on Postgres; TypeScript (``ts/bench/durable.mjs --mode own``) on
    PGlite and on Postgres.
    """
    out: list[Own] = []
    targets = [("SQLite file", f"sqlite:///{tmp / 'own'}.db")]
    if pg:
        targets.append(("Postgres", _fresh_pg(pg)))
    for label, target in targets:
        out.append(("Python", label, _own_figures(_spawn("own", target, runs=args.own_runs))))
    if args.ts:
        ts_targets = [(PGLITE, f"sqlite:///{tmp / 'own-ts'}.db")]
        if pg:
            ts_targets.append(("Postgres", _fresh_pg(pg)))
        for label, store in ts_targets:
            figures = _own_figures(_spawn_ts("own", store, runs=args.own_runs))
            out.append(("TypeScript", label, figures))
    return out


def _per_step(args: argparse.Namespace, tmp: Path, pg: str | None) -> list[Row]:
    rows: list[Row] = []
    targets = [("SQLite file", lambda n: f"sqlite:///{tmp / n}.db")]
    if pg:
        targets.append(("Postgres", lambda _n: _fresh_pg(pg)))
    for label, make in targets:
        result = _spawn("dbos-steps", make("empty"), runs=args.runs)
        rows.append(
            _row("Python", "DBOS 3.4 alone: 11 empty steps (base: 11 awaits)", label, result)
        )
        result = _spawn("timestep", make("ts"), runs=args.runs)
        rows.append(_row("Python", "timestep durable (11 steps/run)", label, result))
        result = _spawn("dbos-openai-agents", make("doa"), runs=args.runs)
        rows.append(_row("Python", "dbos-openai-agents 0.3.0 (6 model steps/run)", label, result))
    result = _spawn("langgraph", str(tmp / "lg.sqlite"), runs=args.runs)
    rows.append(
        _row("Python", "LangGraph 1.2 + SqliteSaver (base: no checkpointer)", "SQLite file", result)
    )
    if args.ts:
        ts_targets = [(PGLITE, f"sqlite:///{tmp / 'tsjs'}.db")]
        if pg:
            ts_targets.append(("Postgres", _fresh_pg(pg)))
        for label, store in ts_targets:
            result = _spawn_ts("steps", store, runs=args.runs)
            name = "DBOS TS 5.3 alone: 11 empty steps (base: 11 awaits)"
            rows.append(_row("TypeScript", name, label, result["dbos"]))
            name = "timestep TS durable (11 steps/run)"
            rows.append(_row("TypeScript", name, label, result["timestep"]))
    return rows


def _repeat(args: argparse.Namespace, spawn: Any) -> dict[str, Any]:
    """Median wall time over ``--repeats`` processes (each on a fresh database)."""
    try:
        results = [spawn(i) for i in range(args.repeats)]
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return {"error": str(error).strip().splitlines()[-1][:200]}
    walls = [r["wall"] for r in results]
    return {**results[0], "wall": statistics.median(walls), "walls": walls}


def _concurrency(args: argparse.Namespace, tmp: Path, pg: str | None) -> list[Conc]:
    common = {"concurrent": args.concurrent, "latency": args.latency}

    def py(mode: str, target: Any, **extra: Any) -> Any:
        return lambda i: _spawn(mode, target(i), **common, **extra)

    def ts(variant: str, store: Any) -> Any:
        return lambda i: _spawn_ts("concurrent", store(i), variant=variant, **common)

    def no_db(_i: int) -> str:
        return "-"

    def fresh_pg(_i: int) -> str:
        return _fresh_pg(str(pg))

    plans: list[tuple[str, str, Any]] = [
        ("Python", "OpenAI Agents SDK, no durability, one shared Agent", py("stock", no_db)),
        ("Python", SDK_CLONED, py("stock", no_db, clone=True)),
        ("Python", SDK_CLONED_WORKER_GC, py("stock", no_db, clone=True, worker_gc=True)),
        (
            "Python",
            "timestep durable, SQLite file",
            py("timestep", lambda i: f"sqlite:///{tmp}/c{i}.db"),
        ),
    ]
    if pg:
        plans.append(("Python", "timestep durable, Postgres", py("timestep", fresh_pg)))
    if args.processes:
        queued = f"queued, drained by `timestep worker --processes {args.processes}`"
        plans.append(
            (
                "Python",
                f"timestep durable, SQLite file, {queued}",
                py("queued", lambda i: f"sqlite:///{tmp}/q{i}.db", processes=args.processes),
            )
        )
        if pg:
            plans.append(
                (
                    "Python",
                    f"timestep durable, Postgres, {queued}",
                    py("queued", fresh_pg, processes=args.processes),
                )
            )
        if args.queued_threads:
            threads = {"processes": args.processes, "executor_threads": args.queued_threads}
            also = f"{queued}, {args.queued_threads} executor threads"
            plans.append(
                (
                    "Python",
                    f"timestep durable, SQLite file, {also}",
                    py("queued", lambda i: f"sqlite:///{tmp}/qt{i}.db", **threads),
                )
            )
            if pg:
                plans.append(
                    (
                        "Python",
                        f"timestep durable, Postgres, {also}",
                        py("queued", fresh_pg, **threads),
                    )
                )
    if args.ts:
        unused = f"sqlite:///{tmp}/unused.db"
        plans += [
            ("TypeScript", f"{SDK_JS}, one shared Agent", ts("shared", lambda _i: unused)),
            ("TypeScript", f"{SDK_JS}, one Agent clone per run", ts("clone", lambda _i: unused)),
            (
                "TypeScript",
                f"timestep TS durable, {PGLITE}",
                ts("durable", lambda i: f"sqlite:///{tmp}/tc{i}.db"),
            ),
        ]
        if pg:
            plans.append(("TypeScript", "timestep TS durable, Postgres", ts("durable", fresh_pg)))
    return [(lang, name, _repeat(args, spawn)) for lang, name, spawn in plans]


def orchestrate(args: argparse.Namespace) -> str:
    from machine import MachineWatch

    started = time.monotonic()
    watch = MachineWatch().start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-durable-"))
    if args.ts and args.build:
        _build_ts()
    server, pg = _postgres()
    if pg is None:
        print(
            "no Postgres (set $TIMESTEP_BENCH_POSTGRES_URL or install Debian's postgresql): "
            "measuring the SQLite and PGlite rows only",
            file=sys.stderr,
        )
    conc: list[Conc] = []
    try:
        own = _own(args, tmp, pg)
        rows = _per_step(args, tmp, pg)
        if args.concurrent:
            conc = _concurrency(args, tmp, pg)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # SQLite files and PGlite directories (~40 MB each)
    machine = watch.stop().describe()
    return _markdown(args, rows, conc, time.monotonic() - started, own, machine)


def _own_lines(args: argparse.Namespace, own: list[Own]) -> list[str]:
    lines = [
        "",
        "**timestep's own cost per step (issue 16, goals 1 and 2).** One process per language and "
        "database runs, in turn, a stock SDK run of that language (one Agent clone), DBOS's "
        "workflow of 11 empty steps and a timestep durable run, "
        f"{args.own_runs} times after 3 warm-ups, on one database; own cost "
        "per step = median over the triples of (timestep - stock - DBOS) / 11: what timestep adds "
        "above the SDK's work and DBOS's own step cost, measured at the same moment (goals: "
        f"<= {OWN_GOALS['Postgres']} ms on Postgres, <= {OWN_GOAL_DEFAULT} ms on SQLite and "
        "PGlite). Quartiles: the spread of single triples; 95% interval: where the median itself "
        "lies (order statistics); goal: met when the whole interval is at or under it.",
        "",
        "| language | database | stock ms/run | DBOS 11 empty steps ms/run | timestep ms/run "
        "| own cost ms/step (median) | quartiles | 95% interval of the median | goal |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for lang, label, r in own:
        goal = OWN_GOALS.get(label, OWN_GOAL_DEFAULT)
        verdict = own_verdict(r["ci_low"], r["ci_high"], goal)
        lines.append(
            f"| {lang} | {label} | {r['stock']:.1f} | {r['dbos']:.1f} | {r['timestep']:.1f} | "
            f"**{r['own']:.2f}** | {r['q1']:.2f} - {r['q3']:.2f} | "
            f"{r['ci_low']:.2f} - {r['ci_high']:.2f} | <= {goal}: {verdict} |"
        )
    return lines


def _markdown(
    args: argparse.Namespace,
    rows: list[Row],
    conc: list[Conc],
    took: float,
    own: list[Own] | None = None,
    machine: str | None = None,
) -> str:
    command = f"python bench/bench_durable.py --runs {args.runs}"
    if args.concurrent != 1000 or args.repeats != 1:
        command += f" --concurrent {args.concurrent} --repeats {args.repeats}"
    if args.own_runs != OWN_RUNS:
        command += f" --own-runs {args.own_runs}"
    if not args.ts:
        command += " --no-ts"
    lines = [
        "## Durable execution",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
        f"({os.cpu_count()} cores shared with other jobs, load average "
        f"{os.getloadavg()[0]:.1f} at the end: figures are noisy"
        f"{'; ' + machine if machine else ''}) by `{command}` "
        f"({took / 60:.1f} min). Workload: {TURNS} tool-call turns = {STEPS} model+tool calls per "
        "run, instant scripted model. Each framework runs in its own process on a fresh database "
        "(one temporary directory, one Postgres server for all) and alternates one run without "
        "durability (base: the stock OpenAI Agents SDK of the same language, Python "
        "openai-agents 0.24 or JS @openai/agents 0.20; for LangGraph the same graph without a "
        "checkpointer; for DBOS alone 11 plain awaits) with one durable run, so both see the same "
        f"load. Medians over {args.runs} pairs; ratio = durable / base; overhead per step = "
        "median over pairs of (durable - base) / 11.",
        "",
        "| language | framework | database | base median ms/run | durable median ms/run | "
        "ratio | overhead ms/step |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for lang, name, db, base, durable, per_step in rows:
        ratio = f"{durable / base:.2f}x" if base >= 1.0 else "-"
        lines.append(
            f"| {lang} | {name} | {db} | {base:.1f} | {durable:.1f} | {ratio} | {per_step:.2f} |"
        )
    if own:
        lines += _own_lines(args, own)
    if conc:
        lines += [
            "",
            f"{args.concurrent} concurrent runs, scripted model with {args.latency * 1000:.0f} ms "
            f"latency per call (ideal = {TURNS + 1} calls x latency); wall = median over "
            f"{args.repeats} process(es), each on a fresh database; last column: against the "
            "stock SDK of the same language with one Agent clone per run. Queued rows: the runs "
            "are queued with `enqueue_run` and drained by one `timestep worker --processes N` "
            "(each process its own DBOS executor, on the same cores); their wall time is the "
            "store's, from the first run's first row to the last run's save; rows with \"N "
            'executor threads" run the workers with `TIMESTEP_EXECUTOR_THREADS=N` (default 4, '
            "16 until 2026-12-05; sync tools have a pool of their own, see docs/operations.md). "
            "Worker processes freeze "
            "their start-up objects and collect gen 0 every 200,000 allocations "
            "(`TIMESTEP_WORKER_GC`); the stock SDK row marked so runs with the same settings, "
            "for reference:",
            "",
            "| language | framework | wall s | ideal s | ratio to ideal "
            "| ratio to SDK (clone per run) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        sdk = {
            lang: c.get("wall")
            for lang, name, c in conc
            if name.endswith("one Agent clone per run") and "wall" in c
        }
        for lang, name, c in conc:
            if "error" in c:
                lines.append(f"| {lang} | {name} | failed: {c['error']} | | | |")
                continue
            base = sdk.get(lang)
            vs_sdk = f"{c['wall'] / base:.2f}x" if base else "-"
            spread = ""
            if len(c.get("walls", [])) > 1:
                spread = f" ({min(c['walls']):.2f}-{max(c['walls']):.2f})"
            lines.append(
                f"| {lang} | {name} | {c['wall']:.2f}{spread} | {c['ideal']:.2f} | "
                f"{c['wall'] / c['ideal']:.1f}x | {vs_sdk} |"
            )
    return "\n".join(lines) + "\n"


def _write_readme(section: str) -> None:
    path = HERE / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find("## Durable execution")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section + ("\n" + tail if tail else "")
    path.write_text(text)


def main() -> None:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode")
    parser.add_argument("--target", default="-")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--own-runs",
        type=int,
        default=OWN_RUNS,
        help="own-cost table: triples per language and database",
    )
    parser.add_argument("--concurrent", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=1, help="concurrent runs: processes each")
    parser.add_argument("--checkpoint", action="store_true")
    parser.add_argument("--clone", action="store_true", help="stock mode: clone the Agent per run")
    parser.add_argument(
        "--worker-gc",
        action="store_true",
        help="stock mode: tune the garbage collector as `timestep worker` processes do",
    )
    parser.add_argument("--no-ts", dest="ts", action="store_false", help="Python figures only")
    parser.add_argument("--no-build", dest="build", action="store_false", help="use ts/dist as is")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="concurrent runs: worker processes draining the queued runs (0: no queued rows)",
    )
    parser.add_argument(
        "--executor-threads",
        type=int,
        default=0,
        help="queued mode: $TIMESTEP_EXECUTOR_THREADS of the workers (0: timestep's default)",
    )
    parser.add_argument(
        "--queued-threads",
        type=int,
        default=16,
        help="queued rows again with this many executor threads per worker (0: no such rows)",
    )
    args = parser.parse_args()
    if args.mode == "langgraph":
        print(json.dumps(mode_langgraph(args)))
        return
    if args.mode:
        print(json.dumps(asyncio.run(MODES[args.mode](args))))
        return
    if args.concurrent is None:
        args.concurrent = 1000
    if args.concurrent and not args.latency:
        args.latency = 0.05
    section = orchestrate(args)
    print(section)
    if not args.no_readme:
        _write_readme(section)


if __name__ == "__main__":
    main()
