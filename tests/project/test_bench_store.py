"""bench/breakdown_store.py: every piece of the three store calls is measured, on both databases,
and the table reads back the figures it was given."""

from __future__ import annotations

from harness.bench import load_bench


async def test_every_piece_of_the_three_store_calls_is_timed(db_target: str) -> None:
    bench = load_bench("breakdown_store")
    found = await bench.measure(db_target, 3)
    assert {call: list(pieces) for call, pieces in found.items()} == bench.PIECES
    for call, pieces in found.items():
        for piece, ms in pieces.items():
            assert 0 < ms < 1000, (call, piece, ms)


def test_the_table_has_a_row_per_piece_and_the_three_calls_total() -> None:
    bench = load_bench("breakdown_store")
    figures = {
        call: {piece: float(i + 1) for i, piece in enumerate(pieces)}
        for call, pieces in bench.PIECES.items()
    }
    lines = bench.markdown({"SQLite file": figures, "Postgres": figures})
    assert lines[0] == "| call: piece (ms per call) | SQLite file | Postgres |"
    rows = len(lines) - 2
    assert rows == sum(len(p) for p in bench.PIECES.values()) + 2
    assert "| **save: whole call** | 5.000 | 5.000 |" in lines
    assert "| new-run check: thread hop | 2.000 | 2.000 |" in lines
    total = 3.0 + 4.0 + 5.0  # the whole calls of the check, the first row and the save
    assert lines[-2] == f"| **the three calls of one run** | {total:.3f} | {total:.3f} |"
    threaded = 4.0 + 5.0 + 6.0  # the same calls with their statements in a worker thread
    assert lines[-1] == f"| **the three, threaded** | {threaded:.3f} | {threaded:.3f} |"
