"""Processes that create the stream event log's table at the same moment, round after round.

Run by ``tests/durable/test_stream_table.py`` in spawned processes: each round, process 0 drops the
table, then every process calls ``_stream.create_table`` at once (two barriers per round).
"""

from __future__ import annotations

from typing import Any


def create_in_rounds(url: str, index: int, rounds: int, barrier: Any, errors: Any) -> None:
    """``rounds`` times: (process 0 drops the table), then create it with the others at once."""
    import sqlalchemy as sa

    from timestep.durable import _stream

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        for round_ in range(rounds):
            barrier.wait()
            if index == 0:
                with engine.begin() as conn:
                    conn.execute(sa.text("DROP TABLE IF EXISTS timestep_stream_events"))
            barrier.wait()
            try:
                _stream.create_table(engine)
            except Exception as error:
                errors.put(f"round {round_}, process {index}: {type(error).__name__}: {error}")
    finally:
        engine.dispose()
