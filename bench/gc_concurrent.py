"""The cyclic garbage collector in 1,000 concurrent runs in one process (issue 16, goal 4).

Each variant runs in its own process on a fresh SQLite store: ``--concurrent`` runs at once
(``asyncio.gather``) of the durable benchmark's workload (5 tool-call turns, scripted model with
``--latency`` per call), after one warm-up run, either as timestep durable runs or with the stock
SDK (one Agent clone per run). ``gc.callbacks`` time every collection by generation; the table
gives the wall time, the collector's seconds per generation and the process's peak RSS. The
variants: Python's settings; ``gc.freeze()`` only; freeze plus a gen-0 threshold (what
``timestep worker`` processes do, ``TIMESTEP_WORKER_GC``).

    python bench/gc_concurrent.py                         # all variants, about 4 minutes
    python bench/gc_concurrent.py --concurrent 200 --thresholds 200000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_durable import _agent, _stock_one  # noqa: E402


async def _child(args: argparse.Namespace) -> dict[str, Any]:
    from timestep.durable import run_durable, shutdown
    from timestep.durable._runtime import RUNTIME
    from timestep.state import RunStateStore

    agent = _agent(args.latency)
    store = RunStateStore(args.target) if args.kind == "timestep" else None
    if store is not None:
        await asyncio.to_thread(RUNTIME.launch, args.target)

    async def one(rid: str) -> None:
        if store is not None:
            result = await run_durable(agent, "go", run_id=rid, store=store, max_turns=20)
            assert result.final_output == "done"
        else:
            await _stock_one(agent.clone())

    await one("warm")
    if args.freeze:
        gc.collect()
        gc.freeze()
    if args.threshold:
        _gen0, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(args.threshold, gen1, gen2)
    spent: dict[str, float] = {}
    started = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            key = f"gen{info['generation']}"
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - started[0]

    gc.callbacks.append(timed)
    start = time.perf_counter()
    await asyncio.gather(*(one(f"c{i}") for i in range(args.concurrent)))
    wall = time.perf_counter() - start
    gc.callbacks.remove(timed)
    if store is not None:
        shutdown()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "gc": dict(spent), "peak_mb": peak_mb}


def _variants(thresholds: list[int]) -> list[tuple[str, list[str]]]:
    out = [("Python's settings", []), ("`gc.freeze()` only", ["--freeze"])]
    for threshold in thresholds:
        label = f"freeze + gen-0 threshold {threshold:,}"
        out.append((label, ["--freeze", "--threshold", str(threshold)]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--thresholds", type=int, nargs="*", default=[50_000, 200_000])
    parser.add_argument("--kinds", nargs="*", default=["stock", "timestep"])
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--kind", default="timestep")
    parser.add_argument("--target", default="-")
    parser.add_argument("--freeze", action="store_true")
    parser.add_argument("--threshold", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args))))
        return
    env = dict(os.environ, TIMESTEP_DBOS_LOG_LEVEL="ERROR", OPENAI_AGENTS_DISABLE_TRACING="1")
    print(f"{args.concurrent} concurrent runs, {args.latency * 1000:.0f} ms model, SQLite file")
    print("| process | variant | wall s | collector s, gen 0 / 1 / 2 | peak RSS MB |")
    print("|---|---|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n, (kind, (label, flags)) in enumerate(
            (kind, variant) for kind in args.kinds for variant in _variants(args.thresholds)
        ):
            cmd = [sys.executable, __file__, "--child", "--kind", kind]
            cmd += ["--target", f"sqlite:///{tmp}/gc{n}.db", "--concurrent", str(args.concurrent)]
            cmd += ["--latency", str(args.latency), *flags]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
            if done.returncode != 0:
                print(f"| {kind} | {label} | failed: {done.stderr.strip()[-200:]} | | |")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            gens = " / ".join(f"{result['gc'].get(f'gen{g}', 0.0):.2f}" for g in range(3))
            row = f"| {kind} | {label} | {result['wall']:.1f} | {gens} | {result['peak_mb']:.0f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
