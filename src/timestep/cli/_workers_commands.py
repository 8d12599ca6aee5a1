"""``timestep workers``: the live workers, the running runs and the queued segments."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ._common import (
    DbOption,
    JsonOption,
    _check_target,
    _db,
    _missing_file,
    _print_json,
    _run,
    _shown,
    _store,
    app,
    err,
    out,
)
from ._render import age


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column not in ("AGENT", "HOST"))
    return table


def activity_view(found: dict[str, Any], where: str) -> Group:
    """The three tables of ``timestep workers`` (workers, running runs, queued segments)."""
    parts: list[Any] = []
    workers = found["workers"]
    alive = sum(1 for w in workers if w["alive"])
    parts.append(Text(f"{alive} live process(es) of {len(workers)} known in {where}"))
    if workers:
        table = _table("EXECUTOR", "LANG", "ROLE", "HOST", "PID", "HEARTBEAT", "ALIVE", "SEGMENTS")
        for worker in workers:
            table.add_row(
                Text(worker["executor_id"]),
                worker["language"],
                "worker" if worker["worker"] else "process",
                Text(worker["host"]),
                str(worker["pid"]),
                f"{worker['seconds_since_heartbeat']:.0f}s ago",
                Text("yes", style="green") if worker["alive"] else Text("no", style="red"),
                str(worker["segments"]),
            )
        parts.append(table)
    running = found["running"]
    parts.append(Text(f"\n{len(running)} running run(s)"))
    if running:
        table = _table("RUN", "AGENT", "SEGMENT", "EXECUTOR", "UPDATED")
        for run in running:
            executor = run["executor_id"] or "-"
            if run["executor_alive"] is False:
                executor += " (dead: waiting for a takeover)"
            table.add_row(
                Text(run["run_id"]),
                Text(run["agent_name"]),
                Text(run["segment"] or "-"),
                Text(executor),
                age(run["updated_at"]),
            )
        parts.append(table)
    queued = found["queued"]
    parts.append(Text(f"\n{len(queued)} queued segment(s)"))
    if queued:
        table = _table("SEGMENT", "RUN", "AGENT", "QUEUE", "LANG", "QUEUED")
        for segment in queued:
            table.add_row(
                Text(segment["segment"]),
                Text(segment["run_id"]),
                Text(segment["agent_name"] or "?"),
                segment["queue"] or "-",
                segment["language"],
                age(segment["created_at"]) if segment["created_at"] else "?",
            )
        parts.append(table)
    return Group(*parts)


@app.command("workers")
def workers_command(
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the live workers (heartbeat, language, host, pid), running runs and queued segments."""
    from ..runs import activity

    url = _check_target(_db(db))
    missing = _missing_file(url)
    if missing is not None:
        empty: dict[str, Any] = {"running": [], "queued": [], "workers": []}
        if as_json:
            _print_json(empty)
            return
        err.print(f"no workers or runs in {_shown(url)} ({missing} does not exist yet)")
        return

    async def fetch() -> dict[str, Any]:
        async with _store(db) as store:
            return await activity(store)

    found = _run(fetch())
    if as_json:
        _print_json(found)
    else:
        out.print(activity_view(found, _shown(url)))
