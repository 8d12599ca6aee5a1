"""The inbox serves 50 concurrent clients with no errors (bench/bench_inbox.py, smaller)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.bench import load_bench


def test_fifty_concurrent_clients_get_answers_without_errors(tmp_path: Path) -> None:
    bench = load_bench("bench_inbox")
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    run_ids = asyncio.run(bench.fill_store(url, 20))
    result = asyncio.run(bench.load(url, run_ids, clients=50, requests=4))
    assert result.errors == []
    assert len(result.latencies_ms) == 200
    assert result.percentile(50) <= result.percentile(99)
