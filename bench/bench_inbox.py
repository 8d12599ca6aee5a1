"""Inbox load: N concurrent HTTP clients against a real ``timestep serve`` app on 127.0.0.1.

A SQLite store holds ``--runs`` runs (half waiting for an approval, half done, made with the SDK's
scripted model). The inbox is served by uvicorn in this process's background thread; each of the
``--clients`` clients (one ``httpx.AsyncClient`` each, all on one event loop) sends ``--requests``
requests in turn to ``GET /api/runs``, ``GET /api/approvals`` and ``GET /api/runs/{id}`` (an id
containing '/'). Reports errors (any non-2xx answer or transport error) and latency percentiles.

    .venv/bin/python bench/bench_inbox.py            # prints, and updates bench/README.md
    .venv/bin/python bench/bench_inbox.py --no-readme --clients 50 --requests 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

HERE = Path(__file__).resolve().parent
HEADING = "## Inbox under load (bench_inbox.py)"
TOKEN = "bench-token-0123456789abcdef"


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured."""

    clients: int
    requests: int
    errors: list[str]
    latencies_ms: list[float]
    wall_s: float

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in ms (nearest rank)."""
        ordered = sorted(self.latencies_ms)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


async def fill_store(url: str, runs: int) -> list[str]:
    """``runs`` runs: even ones wait for approval of ``refund``, odd ones are done."""
    from agents import Agent, Runner, function_tool
    from agents.testing import ScriptedModel, assistant_message, function_call

    from timestep.state import RunStateStore

    @function_tool(needs_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    ids: list[str] = []
    async with RunStateStore(url) as store:
        for i in range(runs):
            if i % 2 == 0:
                script = [[function_call("refund", {"order_id": str(i)}, call_id=f"c{i}")]]
            else:
                script = [[assistant_message(f"answer {i}")]]
            agent = Agent(name="support", tools=[refund], model=ScriptedModel(script))
            result = await Runner.run(agent, f"order {i}", max_turns=3)
            run_id = f"tenant-{i % 5}/ticket-{i}"
            await store.save(result, run_id=run_id)
            ids.append(run_id)
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server:
    """The inbox app on uvicorn in a daemon thread."""

    def __init__(self, url: str) -> None:
        from timestep.server import create_app
        from timestep.state import RunStateStore

        self.port = _free_port()
        app = create_app(RunStateStore(url), token=TOKEN)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("inbox did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def _client(
    base: str, paths: list[str], requests: int, offset: int, result: LoadResult
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for n in range(requests):
            path = paths[(offset + n) % len(paths)]
            started = time.perf_counter()
            try:
                response = await http.get(path)
                if response.status_code >= 300:
                    result.errors.append(f"{path}: HTTP {response.status_code} {response.text}")
            except httpx.HTTPError as error:
                result.errors.append(f"{path}: {type(error).__name__}: {error}")
            result.latencies_ms.append((time.perf_counter() - started) * 1000)


async def load(url: str, run_ids: list[str], clients: int, requests: int) -> LoadResult:
    """Serve the inbox on ``url``'s store and hit it with ``clients`` concurrent clients."""
    from urllib.parse import quote

    paths = ["/api/runs", "/api/approvals"] + [
        f"/api/runs/{quote(run_id, safe='')}" for run_id in run_ids[:4]
    ]
    result = LoadResult(clients, requests, [], [], 0.0)
    with _Server(url) as base:
        started = time.perf_counter()
        await asyncio.gather(*(_client(base, paths, requests, i, result) for i in range(clients)))
        wall = time.perf_counter() - started
    return LoadResult(clients, requests, result.errors, result.latencies_ms, wall)


def report(result: LoadResult, runs: int) -> str:
    """The README section for one load run."""
    total = len(result.latencies_ms)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_avg = os.getloadavg()[0]
    return "\n".join(
        [
            f"Measured {when} on this machine (2 shared cores, load average {load_avg:.1f}) by "
            f"`python bench/bench_inbox.py --clients {result.clients} --requests "
            f"{result.requests} --runs {runs}`: one inbox process (uvicorn, one event loop) on a "
            f"SQLite store of {runs} runs, {result.clients} concurrent clients each sending "
            f"{result.requests} requests in turn to `GET /api/runs`, `GET /api/approvals` and "
            "`GET /api/runs/{id}` (ids containing '/').",
            "",
            "| clients | requests | errors | p50 ms | p99 ms | max ms | requests/s |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {result.clients} | {total} | {len(result.errors)} | "
            f"{result.percentile(50):.1f} | {result.percentile(99):.1f} | "
            f"{max(result.latencies_ms):.1f} | {total / result.wall_s:.0f} |",
            "",
            "Every request is answered (no errors); latency grows with the queue of concurrent "
            "requests on one process (each list reads every run row). "
            "`tests/server/test_inbox_load.py` runs the same load (50 clients) in the suite and "
            "fails on any error.",
        ]
    )


def update_readme(section: str) -> None:
    """Replace (or append) this benchmark's section of bench/README.md."""
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    block = f"{HEADING}\n\n{section}\n"
    start = text.find(HEADING)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end + 1 :] if end != -1 else ""
        text = text[:start] + block + ("\n" + tail if tail else "")
    readme.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'inbox.db'}"
        run_ids = asyncio.run(fill_store(url, args.runs))
        result = asyncio.run(load(url, run_ids, args.clients, args.requests))
    section = report(result, args.runs)
    print(section)
    for error in result.errors[:10]:
        print("error:", error, file=sys.stderr)
    if not args.no_readme:
        update_readme(section)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
