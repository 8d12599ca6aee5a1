"""``timestep runs ...``: list, show, delete, prune and stream stored runs."""

from __future__ import annotations

import asyncio
import json
import sys
import typing
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import typer

from ._common import (
    DbOption,
    JsonOption,
    YesOption,
    _check_target,
    _confirm,
    _db,
    _existing_store,
    _missing_file,
    _print_json,
    _run,
    _shown,
    _store,
    err,
    out,
    runs_app,
)

Status = Literal["running", "waiting", "done", "failed", "cancelled"]


def _parse_age(text: str, option: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``7d`` or ``2w`` as a duration."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit():
        raise typer.BadParameter(
            f"{text!r} is not a duration like 30m, 12h, 7d or 2w", param_hint=option
        )
    return timedelta(seconds=int(number) * units[unit])


def _since(text: str) -> str:
    """The ISO-8601 UTC time ``text`` (a duration ago, or a date/time) stands for."""
    if text[:1].isdigit() and text[-1:].lower() in "smhdw" and text[:-1].isdigit():
        moment = datetime.now(UTC) - _parse_age(text, "--since")
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(
                f"{text!r} is neither a duration (30m, 12h, 7d) nor a date (2026-12-01)",
                param_hint="--since",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@runs_app.command("list")
def runs_list(
    status: Annotated[
        Status | None, typer.Option("--status", help="Only runs with this status.")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only runs of this agent.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only runs updated since: a duration (30m, 12h, 7d) or a date."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs per page.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many runs.")] = 0,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Keep the list on screen, refreshed live.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between --watch refreshes.")
    ] = 2.0,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List stored runs, most recently updated first: status, agent, age, pending approvals."""
    from ..runs import summaries_page
    from ._render import runs_table

    after = _since(since) if since else None
    url = _check_target(_db(db))
    missing = _missing_file(url)
    if missing is not None:
        if as_json:
            _print_json([])
        err.print(f"no runs in {_shown(url)} ({missing} does not exist yet)", markup=False)
        return
    store_obj = _store(db)
    where = _shown(store_obj.url)

    async def fetch() -> tuple[list[dict[str, Any]], int]:
        return await summaries_page(
            store_obj, status, limit=limit, offset=offset, agent=agent, updated_since=after
        )

    def describe(shown: int, total: int) -> str:
        filters = [f"status {status}"] if status else []
        filters += [f"agent {agent}"] if agent else []
        filters += [f"updated since {since}"] if since else []
        what = " with " + ", ".join(filters) if filters else ""
        if total == 0:
            return f"no runs{what} in {where}"
        if offset == 0 and shown == total:
            return f"{total} run(s){what} in {where}"
        text = f"runs {offset + 1}-{offset + shown} of {total}{what} in {where}"
        if offset + shown < total:
            text += f"; next page: --offset {offset + shown}"
        return text

    if watch:
        if as_json:
            raise typer.BadParameter("--watch shows a table; drop --json", param_hint="--watch")
        _watch(fetch, describe, interval)
        return
    runs, total = _run(fetch())
    if as_json:
        _print_json(runs)
    elif not runs:
        err.print(describe(0, total) if total == 0 else f"no runs at --offset {offset} in {where}")
    else:
        out.print(runs_table(runs))
        if total > len(runs):
            err.print(describe(len(runs), total), style="dim", markup=False)


def _watch(fetch: Any, describe: Any, interval: float) -> None:
    """Redraw the runs table every ``interval`` seconds until interrupted."""
    import time

    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from ._render import runs_table

    async def live_loop() -> None:
        with Live(console=out, auto_refresh=False, transient=False) as live:
            while True:
                runs, total = await fetch()
                stamp = time.strftime("%H:%M:%S")
                head = Text(f"{describe(len(runs), total)} · {stamp} (Ctrl+C to stop)")
                live.update(Group(head, runs_table(runs)) if runs else head, refresh=True)
                await asyncio.sleep(interval)

    async def print_loop() -> None:
        """Not a terminal (a pipe, a log): print the list again whenever it changes."""
        last = None
        while True:
            runs, total = await fetch()
            current = json.dumps(runs, sort_keys=True)
            if current != last:
                last = current
                out.print(f"{describe(len(runs), total)} · {time.strftime('%H:%M:%S')}")
                if runs:
                    out.print(runs_table(runs))
                out.file.flush()
            await asyncio.sleep(interval)

    loop = live_loop if out.is_terminal else print_loop

    try:
        _run(loop())
    except KeyboardInterrupt:
        return


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument()],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show a run: versions, timeline of model and tool steps, pending approvals, decisions."""
    from ..runs import run_detail
    from ._render import run_view

    async def fetch() -> dict[str, Any]:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            return await run_detail(store, run_id)

    detail = _run(fetch())
    if as_json:
        _print_json(detail)
    else:
        out.print(run_view(detail))


@runs_app.command("delete")
def runs_delete(
    run_ids: Annotated[list[str], typer.Argument(help="Runs to delete.")],
    yes: YesOption = False,
    db: DbOption = None,
) -> None:
    """Delete runs with all their versions and decisions (durable step records stay in DBOS)."""
    store_obj = _existing_store(db, "nothing to delete")
    where = _shown(store_obj.url)
    _confirm(f"delete {len(run_ids)} run(s) from {where}?", yes)

    async def go() -> None:
        async with store_obj as store:
            for run_id in run_ids:
                await store.run(run_id)  # RunNotFoundError (naming the store) before deleting any
            for run_id in run_ids:
                await store.delete(run_id)

    _run(go())
    for run_id in run_ids:
        out.print(f"deleted run {run_id} from {where}", markup=False)


@runs_app.command("prune")
def runs_prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age since the last update: 30m, 12h, 7d, 2w.")
    ],
    status: Annotated[
        str,
        typer.Option("--status", help="Comma-separated statuses to prune."),
    ] = "done,failed,cancelled",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    yes: YesOption = False,
    db: DbOption = None,
) -> None:
    """Delete finished runs not updated for a while (retention)."""
    age = _parse_age(older_than, "--older-than")
    cutoff = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    statuses = {part.strip() for part in status.split(",") if part.strip()}
    unknown = statuses - set(typing.get_args(Status))
    if unknown or not statuses:
        raise typer.BadParameter(
            f"unknown status {', '.join(sorted(unknown)) or '(none)'}; use "
            f"{', '.join(typing.get_args(Status))}",
            param_hint="--status",
        )
    store_obj = _existing_store(db, "nothing to prune")
    where = _shown(store_obj.url)

    async def old_runs() -> list[str]:
        async with store_obj as store:
            runs = await store.list_runs()
        return [r.run_id for r in runs if r.status in statuses and r.updated_at < cutoff]

    doomed = _run(old_runs())
    kinds = "/".join(sorted(statuses))
    if not doomed:
        err.print(f"no {kinds} runs older than {older_than} in {where}", markup=False)
        return
    if dry_run:
        for run_id in doomed:
            out.print(f"would delete {run_id}", markup=False)
        err.print(f"{len(doomed)} {kinds} run(s) older than {older_than} in {where}")
        return
    _confirm(f"delete {len(doomed)} {kinds} run(s) older than {older_than} from {where}?", yes)

    async def go() -> None:
        async with store_obj as store:
            for run_id in doomed:
                await store.delete(run_id)

    _run(go())
    out.print(f"deleted {len(doomed)} run(s) older than {older_than} from {where}", markup=False)


@runs_app.command("stream")
def runs_stream(
    run_id: Annotated[str, typer.Argument()],
    after: Annotated[
        int, typer.Option("--after", min=0, help="Start after this event id (see --events).")
    ] = 0,
    raw: Annotated[
        bool, typer.Option("--events", help="Print the raw events, one JSON object per line.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Follow a streamed run's text from its durable log: live, across crashes, or replayed."""

    async def follow() -> None:
        async with _store(db) as store:
            await _print_stream(run_id, after, raw, store)

    _run(follow())


async def _print_stream(run_id: str, after: int, raw: bool, store: Any) -> None:
    """Print a streamed run's text (or raw events) from its durable log until it ends."""
    from ..durable import StreamText, attach_stream

    text = StreamText()
    async for event in attach_stream(run_id, store=store, after=after):
        if raw:
            sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
            sys.stdout.flush()
            continue
        change = text.add(event)
        if change is not None and change.kind == "append":
            sys.stdout.write(change.text)
            sys.stdout.flush()
        elif change is not None and change.text:
            # a terminal cannot take text back: say so; what follows starts on a new line
            sys.stdout.write("\n")
            sys.stdout.flush()
            why = (
                f"failed ({event.get('error')})"
                if event.get("reason") == "failed"
                else "was cut off (its process stopped); a retry follows"
            )
            err.print(
                f"[model call {change.step}, attempt {change.attempt} {why}: the text above "
                "since the previous line is not part of the output]",
                style="dim",
                markup=False,
            )
        elif event.get("type") == "segment_end":
            sys.stdout.write("\n")
            error = f": {event['error']}" if event.get("error") else ""
            err.print(f"[run {event.get('status')}{error}]", style="dim", markup=False)
