"""bench_durable.py's own-cost table: the figures from the triples, one row per language and
database (Python's and TypeScript's ``own`` modes return the same shape)."""

from __future__ import annotations

import argparse

import pytest

from harness.bench import load_bench


def _triples() -> dict[str, list[float]]:
    # seconds per run; (timestep - stock - DBOS) / 11 in ms: 1.0, 2.0, 0.0, 3.0, 0.5
    stock = [0.010, 0.009, 0.011, 0.010, 0.012]
    dbos = [0.020, 0.021, 0.019, 0.020, 0.0205]
    own_ms = [1.0, 2.0, 0.0, 3.0, 0.5]
    durable = [s + d + o * 11 / 1000 for s, d, o in zip(stock, dbos, own_ms, strict=True)]
    return {"stock": stock, "dbos": dbos, "timestep": durable}


def test_the_own_cost_is_the_median_over_triples_not_a_difference_of_medians() -> None:
    bench = load_bench("bench_durable")
    figures = bench._own_figures(_triples())
    assert figures["own"] == pytest.approx(1.0)
    assert figures["stock"] == pytest.approx(10.0)
    assert figures["dbos"] == pytest.approx(20.0)
    assert (figures["q1"], figures["q3"]) == (pytest.approx(0.25), pytest.approx(2.5))
    with pytest.raises(ValueError):  # a mode that lost runs is an error, not a shorter median
        bench._own_figures({**_triples(), "dbos": _triples()["dbos"][:4]})


def test_the_own_cost_table_has_a_row_per_language_and_database() -> None:
    bench = load_bench("bench_durable")
    figures = bench._own_figures(_triples())
    own = [
        ("Python", "SQLite file", figures),
        ("TypeScript", bench.PGLITE, {**figures, "own": 0.58}),
    ]
    args = argparse.Namespace(runs=5, concurrent=1000, repeats=1, ts=True, latency=0.05)
    text = bench._markdown(args, [], [], 60.0, own, None)
    rows = [line for line in text.splitlines() if line.startswith(("| Python", "| TypeScript"))]
    assert rows == [
        "| Python | SQLite file | 10.0 | 20.0 | 41.0 | **1.00** | 0.25 - 2.50 |",
        f"| TypeScript | {bench.PGLITE} | 10.0 | 20.0 | 41.0 | **0.58** | 0.25 - 2.50 |",
    ]
    header = next(line for line in text.splitlines() if "own cost ms/step" in line)
    assert header.startswith("| language | database |")
