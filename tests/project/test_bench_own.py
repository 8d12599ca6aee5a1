"""bench_durable.py's own-cost table: the figures from the triples, one row per language and
database (Python's and TypeScript's ``own`` modes return the same shape)."""

from __future__ import annotations

import argparse
import math
import random
import statistics

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
    postgres = {**figures, "own": 0.4, "ci_low": 0.35, "ci_high": 0.45}
    own.append(("Python", "Postgres", postgres))
    args = argparse.Namespace(runs=5, own_runs=5, concurrent=1000, repeats=1, ts=True, latency=0.05)
    text = bench._markdown(args, [], [], 60.0, own, None)
    rows = [line for line in text.splitlines() if line.startswith(("| Python", "| TypeScript"))]
    assert rows == [
        "| Python | SQLite file | 10.0 | 20.0 | 41.0 | **1.00** | 0.25 - 2.50 | 0.00 - 3.00 "
        "| <= 0.3: within noise |",
        f"| TypeScript | {bench.PGLITE} | 10.0 | 20.0 | 41.0 | **0.58** | 0.25 - 2.50 "
        "| 0.00 - 3.00 | <= 0.3: within noise |",
        "| Python | Postgres | 10.0 | 20.0 | 41.0 | **0.40** | 0.25 - 2.50 | 0.35 - 0.45 "
        "| <= 0.5: met |",
    ]
    header = next(line for line in text.splitlines() if "own cost ms/step" in line)
    assert header.startswith("| language | database |")
    assert "--own-runs 5" in text  # a count other than the default is named in the command


def test_the_median_interval_of_few_values_is_their_whole_range() -> None:
    bench = load_bench("bench_durable")
    assert bench.median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) == (1.0, 5.0)
    assert bench.median_interval([7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError):
        bench.median_interval([])


def test_the_median_interval_holds_the_median_and_narrows_with_more_values() -> None:
    bench = load_bench("bench_durable")
    rng = random.Random(16)
    widths = []
    for n in (20, 80, 320):
        values = [rng.lognormvariate(0, 0.5) for _ in range(n)]
        low, high = bench.median_interval(values)
        assert low <= statistics.median(values) <= high
        assert low in values and high in values
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_the_median_ranks_are_the_tightest_that_hold_the_median_95_times_in_100() -> None:
    bench = load_bench("bench_durable")

    def coverage(n: int, j: int, k: int) -> float:
        # the median lies between the j-th and k-th values when j..k-1 values are below it
        inside: int = sum(math.comb(n, below) for below in range(j, k))
        return inside / (1 << n)

    for n in range(6, 400):
        j, k = bench.median_ranks(n)
        assert k == n + 1 - j
        assert coverage(n, j, k) >= 0.95, n
        assert coverage(n, j + 1, k - 1) < 0.95, n  # one rank closer would miss the level


def test_the_median_interval_covers_the_true_median_95_times_in_100() -> None:
    # skewed values like the triples' (a long tail of slow runs); the true median of
    # exp(N(0, 0.5)) is 1
    bench = load_bench("bench_durable")
    rng = random.Random(2026)
    trials = 2000
    covered = 0
    for _ in range(trials):
        values = [math.exp(rng.gauss(0, 0.5)) for _ in range(150)]
        low, high = bench.median_interval(values)
        covered += low <= 1.0 <= high
    assert 0.945 <= covered / trials <= 0.975


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(0.1, 0.3, "met"), (0.31, 0.5, "not met"), (0.25, 0.35, "within noise")],
)
def test_the_goal_is_met_only_when_the_whole_interval_is_under_it(
    low: float, high: float, verdict: str
) -> None:
    assert load_bench("bench_durable").own_verdict(low, high, 0.3) == verdict
