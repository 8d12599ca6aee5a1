"""Scale-out: runs/s of `timestep worker --processes N` draining one queue, for N = 1, 2, 4.

Workload: the durable benchmark's run (5 tool-call turns = 11 steps, instant scripted model: the
work is CPU, so one process is bound to one core). For each database and N, a fresh store gets
``timestep db upgrade``, then ``--runs`` runs queued with ``enqueue_run``, then one
``timestep worker --processes N --concurrency C`` drains them. Throughput is measured inside the
stores' own timestamps, from the first run's first row (written when its first segment starts)
to the last run's final save, so process start-up is not counted. Efficiency per process is
runs/s at N divided by N times runs/s at 1.

    python bench/bench_scaleout.py                       # SQLite and Postgres, N = 1, 2, 4
    python bench/bench_scaleout.py --processes 1 2 --runs 100 --no-readme

Postgres: ``$TIMESTEP_BENCH_POSTGRES_URL`` or Debian's PostgreSQL 15 binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "## Scale-out (bench_scaleout.py)"
#: The scripted model's delay per call in the worker processes (``--latency``).
LATENCY_ENV = "BENCH_SCALEOUT_LATENCY"


def agent() -> Any:
    """The benchmark agent (imported by the worker processes as ``bench_scaleout:agent``)."""
    from bench_durable import _agent

    return _agent(float(os.environ.get(LATENCY_ENV, "0")), name="scaleout")


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        TIMESTEP_DBOS_LOG_LEVEL="ERROR",
        OPENAI_AGENTS_DISABLE_TRACING="1",
    )


def _cli(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "timestep.cli", "--db", db, *args]


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _measure(db: str, processes: int, runs: int, concurrency: int) -> dict[str, Any]:
    from timestep.durable import enqueue_run
    from timestep.state import RunStateStore

    subprocess.run(_cli(db, "db", "upgrade"), env=_env(), check=True, capture_output=True)
    store = RunStateStore(db)
    for n in range(runs):
        await enqueue_run("scaleout", "go", run_id=f"s-{n}", store=store)
    # The worker logs a line per segment: to a file, since a pipe nobody reads fills up (64 KB)
    # and then blocks the worker's logging, and with it its event loop.
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryFile() as log:
        done = await _drain(db, processes, runs, concurrency, store, log, samples)
    first = min(_stamp(run.created_at) for run in done)
    last = max(_stamp(run.updated_at) for run in done)
    wall = last - first
    return {
        "processes": processes,
        "runs": runs,
        "wall": wall,
        "rate": runs / wall,
        "cores": _cores(samples, first, last),
    }


def _cpu_seconds(root: int) -> float | None:
    """CPU time (user + system) so far of process ``root`` and its children (Linux ``/proc``)."""
    total, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile, or no /proc
        if int(entry.name) == root or int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def _cores(samples: list[tuple[float, float]], first: float, last: float) -> float | None:
    """The workers' CPU seconds per second between the samples around ``first`` and ``last``."""
    before = [s for s in samples if s[0] <= first] or samples[:1]
    after = [s for s in samples if s[0] >= last] or samples[-1:]
    if not before or not after or after[0][0] <= before[-1][0]:
        return None
    (t0, cpu0), (t1, cpu1) = before[-1], after[0]
    return (cpu1 - cpu0) / (t1 - t0)


async def _drain(
    db: str,
    processes: int,
    runs: int,
    concurrency: int,
    store: Any,
    log: Any,
    samples: list[tuple[float, float]],
) -> list[Any]:
    """Start ``timestep worker --processes N``; return the runs once all ``runs`` are done.

    ``samples`` gets (time, the workers' CPU seconds so far) at every poll.
    """
    worker = subprocess.Popen(
        _cli(
            db,
            "worker",
            "--agent",
            "bench_scaleout:agent",
            "--processes",
            str(processes),
            "--concurrency",
            str(concurrency),
        ),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 1800
        while True:
            # a count, not the runs: this process shares the cores with the workers it measures
            done = await store.count_runs(status="done")
            cpu = _cpu_seconds(worker.pid)
            if cpu is not None:
                samples.append((time.time(), cpu))
            if done == runs:
                finished: list[Any] = await store.list_runs(status="done", limit=runs)
                return finished
            if worker.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"worker exited: {log.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {runs} runs finished")
            await asyncio.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def _markdown(
    args: argparse.Namespace, rows: list[tuple[str, dict[str, Any]]], machine: str | None = None
) -> str:
    load = os.getloadavg()[0]
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    model = f"{args.latency * 1000:.0f} ms per call" if args.latency else "instant"
    latency = f"--latency {args.latency} " if args.latency else ""
    lines = [
        SECTION,
        "",
        f"Measured {when} on this machine ({os.cpu_count()} cores shared with other jobs, load "
        f"average {load:.1f} at the end{'; ' + machine if machine else ''}) by "
        f"`python bench/bench_scaleout.py --runs {args.runs} "
        f"--concurrency {args.concurrency} --processes {' '.join(map(str, args.processes))} "
        f"{latency}"
        f"--databases {' '.join(args.databases)}`: "
        f"queued runs of the durable benchmark's workload (11 steps, scripted model: {model}) "
        "drained by `timestep worker --processes N`; runs/s from the first run's start to the "
        "last run's end (store timestamps); worker CPU: the CPU seconds the worker processes "
        "used per second over that time (2.00 = both cores busy with them).",
        "",
        "| database | processes | runs | wall s | runs/s | efficiency per process | "
        "worker CPU, cores |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base: dict[str, float] = {}
    for database, result in rows:
        if result["processes"] == 1:
            base[database] = result["rate"]
        one = base.get(database)
        efficiency = (
            f"{result['rate'] / (result['processes'] * one):.0%}" if one is not None else "-"
        )
        cores = f"{result['cores']:.2f}" if result.get("cores") is not None else "-"
        lines.append(
            f"| {database} | {result['processes']} | {result['runs']} | {result['wall']:.1f} | "
            f"{result['rate']:.1f} | {efficiency} | {cores} |"
        )
    return "\n".join(lines) + "\n"


def _write_readme(section: str) -> None:
    path = HERE / "README.md"
    text = path.read_text()
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section + ("\n" + tail if tail else "")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="scripted model delay per call (seconds)"
    )
    args = parser.parse_args()
    os.environ[LATENCY_ENV] = str(args.latency)
    from machine import MachineWatch

    watch = MachineWatch().start()
    rows: list[tuple[str, dict[str, Any]]] = []
    server, pg_url = (None, None)
    if "postgres" in args.databases:
        from bench_durable import _postgres

        server, pg_url = _postgres()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for database in args.databases:
                for processes in args.processes:
                    if database == "sqlite":
                        db = f"sqlite:///{Path(tmp) / f'scale-{processes}.db'}"
                        label = "SQLite file"
                    elif pg_url is None:
                        continue
                    else:
                        from harness.postgres import create_database

                        db = str(create_database(pg_url))
                        label = "Postgres"
                    result = asyncio.run(_measure(db, processes, args.runs, args.concurrency))
                    print(label, result, flush=True)
                    rows.append((label, result))
    finally:
        if server is not None:
            server.stop()
    section = _markdown(args, rows, watch.stop().describe())
    print(section)
    if not args.no_readme:
        _write_readme(section)


if __name__ == "__main__":
    main()
