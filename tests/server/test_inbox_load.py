"""The inbox serves 50 concurrent clients with no errors (bench/bench_inbox.py, smaller)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_inbox.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_inbox", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_fifty_concurrent_clients_get_answers_without_errors(tmp_path: Path) -> None:
    bench = _bench()
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    run_ids = asyncio.run(bench.fill_store(url, 20))
    result = asyncio.run(bench.load(url, run_ids, clients=50, requests=4))
    assert result.errors == []
    assert len(result.latencies_ms) == 200
    assert result.percentile(50) <= result.percentile(99)
