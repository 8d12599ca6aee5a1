"""Lists whose cost follows the work, not the history: query plans and what the inbox reads.

The curve itself is measured by bench/bench_history.py; these tests pin the two properties it
relies on (an index serves the newest-first run lists, and the approvals list reads only the
decisions of waiting runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents import Runner
from sqlalchemy import event, select, text

from harness.refund_agent import build_agent, start_model
from timestep import RunStateStore
from timestep.runs import pending_approvals
from timestep.state import _schema as schema
from timestep.state._engine import get_engine


async def _waiting(store: RunStateStore, run_id: str) -> None:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    await store.save(result, run_id=run_id)


def _plan(url: str, query: Any) -> str:
    engine = get_engine(url)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_run_lists_newest_first_read_an_index_instead_of_sorting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    await RunStateStore(url).list_runs()
    runs = schema.runs
    newest_first = select(runs).order_by(runs.c.updated_at.desc())
    for query in (newest_first, newest_first.where(runs.c.status == "waiting")):
        plan = _plan(url, query)
        assert "TEMP B-TREE" not in plan, plan
        assert "ix_timestep_runs_" in plan, plan


async def test_approvals_list_reads_only_the_decisions_of_waiting_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    store = RunStateStore(url)
    for run_id in ("old-1", "old-2", "now"):
        await _waiting(store, run_id)
    for run_id in ("old-1", "old-2"):  # decided and finished: history
        await store.decide(run_id, None, "approve", decided_by="alice")
        await store.set_status(run_id, "done")

    read: list[tuple[str, Any]] = []

    def record(_c: Any, _k: Any, statement: str, params: Any, *_a: Any) -> None:
        if "timestep_approvals" in statement:
            read.append((statement, params))

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        items = await pending_approvals(store)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [item["run_id"] for item in items] == ["now"]
    assert len(read) == 1
    statement, params = read[0]
    assert "WHERE" in statement and "now" in list(params), (statement, params)
