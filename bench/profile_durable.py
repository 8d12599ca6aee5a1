"""Deterministic cost of a durable run: cProfile call counts and CPU shares, callgrind instructions.

Wall-clock figures swing with the machine's load; these do not (or much less): the number of
Python function calls per run, the CPU share of each function (cProfile), and, under
``valgrind --tool=callgrind``, the instructions the process executes per run (only the measured
runs are instrumented: the script switches callgrind's instrumentation on and off around them).

Modes (each on a fresh database): ``timestep`` (bench_durable.py's workload: 11 steps per run),
``dbos`` (DBOS alone: a workflow of 11 empty steps), ``stock`` (the OpenAI Agents SDK, no
durability, one Agent clone per run).

    python bench/profile_durable.py --mode timestep --db sqlite --runs 50          # cProfile
    python bench/profile_durable.py --mode timestep --db postgres --callgrind      # instructions
    python bench/profile_durable.py --compare --db sqlite                         # all modes

``--concurrent N`` runs N runs at once (asyncio.gather) instead of one after another (issue 16's
concurrency goal); ``--latency`` gives the scripted model a delay per call.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import STEPS, DatabaseTargets, _agent, _empty_steps_workflow  # noqa: E402

# Where a function's CPU goes, by the file it is defined in (first match wins).
CATEGORIES = [
    ("timestep", "/timestep/"),
    ("dbos", "/dbos/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("sqlite3 driver", "sqlite3"),
    ("psycopg", "/psycopg"),
    ("agents SDK", "/agents/"),
    ("pydantic", "/pydantic"),
    ("openai types", "/openai/"),
    ("json", "/json/"),
    ("asyncio", "/asyncio/"),
    ("threading/queue", "/threading.py"),
    ("threading/queue", "/queue.py"),
    ("threading/queue", "/concurrent/"),
    ("logging", "/logging/"),
]


def _callgrind(on: bool) -> None:
    """Switch callgrind's instrumentation on or off in this process (no-op without valgrind)."""
    if os.environ.get("PROFILE_DURABLE_CALLGRIND") and shutil.which("callgrind_control"):
        subprocess.run(
            ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
            capture_output=True,
            check=False,
        )


async def _workload(mode: str, target: str, latency: float) -> Any:
    """Prepare ``mode`` on ``target``; return (one-run coroutine factory, teardown)."""
    if mode == "timestep":
        from timestep.durable import run_durable, shutdown
        from timestep.state import RunStateStore

        store = RunStateStore(target)
        agent = _agent(latency)

        async def one(rid: str) -> None:
            result = await run_durable(agent, "go", run_id=rid, store=store, max_turns=20)
            assert result.final_output == "done"

        return one, shutdown
    if mode == "dbos":
        from dbos import SetWorkflowID

        from timestep.durable._runtime import RUNTIME

        workflow, _nothing = _empty_steps_workflow()
        await asyncio.to_thread(RUNTIME.launch, target)

        async def one_dbos(rid: str) -> None:
            with SetWorkflowID(rid):
                assert await workflow() == STEPS

        return one_dbos, RUNTIME.shutdown
    from agents import Runner

    plain = _agent(latency)

    async def one_stock(_rid: str) -> None:
        result = await Runner.run(plain.clone(), "go", max_turns=20)
        assert result.final_output == "done"

    return one_stock, lambda: None


class _ThreadProfiles:
    """cProfile in the thread pools too: each work item runs under its thread's own profiler.

    cProfile sees only the thread that enabled it; DBOS runs every system-database transaction,
    and timestep every store call, in a thread pool (``asyncio.to_thread``, DBOS's executor).
    """

    def __init__(self) -> None:
        import concurrent.futures.thread as pool
        import threading

        self.profiles: list[cProfile.Profile] = []
        self.active = False
        self._local = threading.local()
        self._pool = pool
        self._original = pool._WorkItem.run  # type: ignore[attr-defined]
        owner = self

        def run(item: Any) -> None:
            if not owner.active:
                owner._original(item)
                return
            prof = getattr(owner._local, "prof", None)
            if prof is None:
                prof = owner._local.prof = cProfile.Profile(time.thread_time)
                owner.profiles.append(prof)
            prof.enable()
            try:
                owner._original(item)
            finally:
                prof.disable()

        pool._WorkItem.run = run  # type: ignore[attr-defined]


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    threads = _ThreadProfiles() if args.cprofile else None
    one, teardown = await _workload(args.mode, args.target, args.latency)
    try:
        for i in range(args.warm):
            await one(f"warm-{i}")
        profiler = cProfile.Profile(time.thread_time) if args.cprofile else None
        cpu0 = time.process_time()
        _callgrind(True)
        if profiler is not None and threads is not None:
            threads.active = True
            profiler.enable()
        if args.concurrent:
            await asyncio.gather(*(one(f"c-{i}") for i in range(args.runs)))
        else:
            for i in range(args.runs):
                await one(f"r-{i}")
        if profiler is not None and threads is not None:
            profiler.disable()
            threads.active = False
        _callgrind(False)
        cpu = time.process_time() - cpu0
    finally:
        teardown()
    out: dict[str, Any] = {"mode": args.mode, "runs": args.runs}
    out["cpu_ms_per_run"] = cpu * 1000 / args.runs
    if profiler is not None and threads is not None:
        out.update(_digest([profiler, *threads.profiles], args.runs, args.top))
        if args.save_stats:
            stats = pstats.Stats(profiler)
            for other in threads.profiles:
                stats.add(other)
            stats.dump_stats(args.save_stats)
    return out


def _digest(profiles: list[cProfile.Profile], runs: int, top: int) -> dict[str, Any]:
    stats = pstats.Stats(profiles[0], stream=io.StringIO())
    for other in profiles[1:]:
        stats.add(other)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total_calls = sum(v[1] for v in raw.values())
    total_time = sum(v[2] for v in raw.values()) or 1e-9
    by_cat: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        cat = next((c for c, m in CATEGORIES if m in filename), "other")
        by_cat[cat] = by_cat.get(cat, 0.0) + tt
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    tottime = [
        {
            "function": f"{_short(f)}:{line}({name})",
            "calls_per_run": nc / runs,
            "share": tt / total_time,
        }
        for (f, line, name), (_cc, nc, tt, _ct, _c) in rows
    ]
    cum = sorted(raw.items(), key=lambda kv: kv[1][3], reverse=True)
    cumulative = [
        {
            "function": f"{_short(f)}:{line}({name})",
            "calls_per_run": nc / runs,
            "share": ct / total_time,
        }
        for (f, line, name), (_cc, nc, _tt, ct, _c) in cum
        if "/timestep/" in f or "/dbos/" in f
    ][:top]
    return {
        "calls_per_run": total_calls / runs,
        "categories": {k: v / total_time for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "top_tottime": tottime,
        "top_cumulative": cumulative,
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _child(mode: str, target: str, args: argparse.Namespace, callgrind: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--mode", mode]
    cmd += ["--target", target, "--runs", str(args.runs), "--warm", str(args.warm)]
    cmd += ["--top", str(args.top), "--latency", str(args.latency)]
    if args.save_stats:
        cmd += ["--save-stats", f"{args.save_stats}.{mode}"]
    if args.concurrent:
        cmd.append("--concurrent")
    if not callgrind:
        cmd.append("--cprofile")
    env = dict(os.environ, TIMESTEP_DBOS_LOG_LEVEL="ERROR", OPENAI_AGENTS_DISABLE_TRACING="1")
    out_file = None
    if callgrind:
        out_file = tempfile.mktemp(prefix="callgrind.", suffix=".out")
        env["PROFILE_DURABLE_CALLGRIND"] = "1"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out_file}",
            *cmd,
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    found = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    if out_file is not None:
        found["instructions_per_run"] = _instructions(out_file) / args.runs
        found["callgrind_file"] = out_file
    return found


def _instructions(path: str) -> int:
    """Total Ir of a callgrind output file (its ``summary:`` or ``totals:`` line)."""
    text = Path(path).read_text(errors="replace")
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def main() -> None:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["timestep", "dbos", "stock"], default="timestep")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrent", action="store_true", help="run the runs at once")
    parser.add_argument("--callgrind", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--compare", action="store_true", help="dbos, timestep and stock")
    parser.add_argument("--json", action="store_true", help="print the raw JSON")
    parser.add_argument("--save-stats", help="write the merged cProfile stats (pstats) here")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--target", default="-")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args))))
        return
    modes = ["dbos", "timestep", "stock"] if args.compare else [args.mode]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, DatabaseTargets(tmp) as targets:
        for mode in modes:
            target = targets.target("sqlite" if mode == "stock" else args.db, mode)
            results[mode] = _child(mode, target, args, args.callgrind)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    _print(results, args)


def _print(results: dict[str, Any], args: argparse.Namespace) -> None:
    how = "concurrently" if args.concurrent else "one after another"
    print(f"{args.db}, {args.runs} runs {how} after {args.warm} warm-up runs, {STEPS} steps/run")
    for mode, found in results.items():
        line = f"{mode}: process CPU {found['cpu_ms_per_run']:.2f} ms/run"
        if "instructions_per_run" in found:
            ir = found["instructions_per_run"]
            line += f", {ir / 1e6:.2f} M instructions/run ({ir / STEPS / 1e6:.3f} M/step)"
        if "calls_per_run" in found:
            line += f", {found['calls_per_run']:.0f} Python calls/run"
        print(line)
        if "categories" in found:
            cats = ", ".join(f"{k} {v:.0%}" for k, v in found["categories"].items() if v >= 0.01)
            print(f"  CPU by package: {cats}")
            print("  top functions by own time (calls per run, share of profiled CPU):")
            for row in found["top_tottime"]:
                print(f"    {row['calls_per_run']:8.1f}  {row['share']:6.1%}  {row['function']}")
            print("  timestep/DBOS functions by cumulative time:")
            for row in found["top_cumulative"]:
                print(f"    {row['calls_per_run']:8.1f}  {row['share']:6.1%}  {row['function']}")


if __name__ == "__main__":
    main()
