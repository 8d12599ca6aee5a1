"""The ``timestep`` command's Typer application."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import sys
import typing
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console

from .._errors import ConfigurationError, RunFinishedError

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="timestep",
    help="Durable, resumable OpenAI Agents SDK runs: run, inspect, approve, resume, serve.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the store's database.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(db_app, name="db")


@dataclass
class Settings:
    """Options given before the command (``timestep --db URL --verbose ...``)."""

    db: str | None = None
    verbose: bool = False


settings = Settings()

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store URL (default: --db before the command, $TIMESTEP_DB, "
        "else sqlite:///timestep.db).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripting.")]


def _db(db: str | None) -> str:
    return db or settings.db or os.environ.get("TIMESTEP_DB") or "sqlite:///timestep.db"


def _run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def _check_target(url: str) -> str:
    """``url``, or a typed error when it is neither a database URL nor a ``.json`` file."""
    if "://" not in url and not url.lower().endswith(".json"):
        raise ConfigurationError(
            f"store {url!r} is neither a database URL nor a .json file: use "
            f"'sqlite:///{url}' for SQLite, or a path ending in .json for a file store"
        )
    return url


def _shown(url: str) -> str:
    """A store URL as it may be printed (no password)."""
    from ..state import display_url

    return display_url(url) if "://" in url else url


def _store(db: str | None) -> Any:
    from ..state import RunStateStore

    return RunStateStore(_check_target(_db(db)))


def _missing_file(url: str) -> Path | None:
    """The file a SQLite or JSON store would live in, when it does not exist yet."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0]).expanduser()
    elif "://" not in url:
        path = Path(url).expanduser()
    else:
        return None
    return None if path.exists() or str(path) == ":memory:" else path


def _existing_store(db: str | None, what: str) -> Any:
    """The store for a command that only reads or changes existing runs (never creates a file)."""
    from .._errors import RunNotFoundError

    url = _check_target(_db(db))
    missing = _missing_file(url)
    if missing is not None:
        raise RunNotFoundError(
            f"{what}: store {url} does not exist ({missing} not found); check --db or $TIMESTEP_DB"
        )
    return _store(db)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("timestep")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            number = "unknown"
        out.print(f"timestep {number}", markup=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    db: DbOption = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Show tracebacks and library logs on stderr (else they go to the log file: "
            "$TIMESTEP_LOG_FILE, or timestep.log in your log directory).",
        ),
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print timestep's version."
        ),
    ] = False,
) -> None:
    from ._logging import configure

    settings.db = db
    settings.verbose = verbose
    configure(verbose)


#: The demo's own store (``timestep.demo.DEFAULT_DB``; a test keeps the two equal).
DEMO_DB = "sqlite:///timestep-demo/timestep.db"


@app.command()
def demo(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model to run the demo with (default: local/qwen2.5-0.5b, the bundled local "
            "model; 'scripted' for a stand-in without an LLM).",
        ),
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Run id (default: new)")] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help=f"Store URL (default: {DEMO_DB}, not the usual default)."),
    ] = None,
) -> None:
    """Run the guided demo: a durable run pauses for approval, then resumes."""
    from .. import demo as demo_module

    argv: list[str] = []
    if model:
        argv += ["--model", model]
    if db or settings.db:
        argv += ["--db", _db(db)]
    if run_id:
        argv += ["--run-id", run_id]
    code = int(demo_module.main(argv))
    if code:
        raise typer.Exit(code)


@app.command("run")
def run_command(
    agent_ref: Annotated[str, typer.Argument(help="module:attribute")],
    prompt: Annotated[str, typer.Argument(help="The user's message.")],
    run_id: Annotated[str | None, typer.Option("--run-id", help="Run id (default: new)")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print tokens as they arrive.")] = False,
    max_turns: Annotated[int, typer.Option("--max-turns", min=1)] = 10,
    db: DbOption = None,
) -> None:
    """Run an agent durably; it is stored under its run id and may pause for approvals."""
    from ..runs import load_agent

    agent = load_agent(agent_ref)
    rid = run_id or f"run-{uuid.uuid4().hex[:12]}"
    _run(_run_agent(agent, prompt, rid, stream, max_turns, db))


async def _run_agent(
    agent: Any, prompt: str, run_id: str, stream: bool, max_turns: int, db: str | None
) -> None:
    from agents import RunResultStreaming

    from .. import _run as run_module
    from ._render import print_pending

    async with _store(db) as store:
        if await _exists(store, run_id):
            raise ConfigurationError(
                f"run {run_id!r} already exists in {store.url}; pick another --run-id or use "
                "'timestep resume'"
            )
        err.print(f"run {run_id}", style="dim")
        result = await run_module.run_agent(
            agent, prompt, stream=stream, run_id=run_id, store=store, max_turns=max_turns
        )
        if isinstance(result, RunResultStreaming):
            # print from the run's durable log, as `timestep runs stream` does (same text, same
            # notices for a model call that failed and was called again), while this process
            # drains the run itself
            drained = asyncio.ensure_future(run_module.consume_result(result))
            follower = asyncio.ensure_future(_print_stream(run_id, 0, False, store))
            await asyncio.wait({drained, follower}, return_when=asyncio.FIRST_EXCEPTION)
            if drained.done() and drained.exception() is not None:
                # the log ends with the failed run's segment_end: show it, then report the error
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(follower, 10)
            else:
                await follower
            result = await drained
        latest = await store.get(run_id)
        if latest.status == "waiting":
            print_pending(err, run_id, latest.pending_approvals)
        elif not stream and result.final_output is not None:
            out.print(str(result.final_output), markup=False)


async def _exists(store: Any, run_id: str) -> bool:
    from .._errors import RunNotFoundError

    try:
        await store.get(run_id)
    except RunNotFoundError:
        return False
    return True


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
    from ..runs import list_summaries
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
        runs = await list_summaries(store_obj, status)
        if agent is not None:
            runs = [run for run in runs if run["agent_name"] == agent]
        if after is not None:
            runs = [run for run in runs if run["updated_at"] >= after]
        return runs[offset : offset + limit], len(runs)

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


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise typer.BadParameter("not a terminal to confirm on; add --yes", param_hint="--yes")
    if not typer.confirm(question):
        raise typer.Abort()


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


ByOption = Annotated[
    str | None, typer.Option("--by", help="Who decides (default: the current user).")
]


def _decide(
    decision: Literal["approve", "reject"],
    run_id: str,
    call_id: str | None,
    reason: str | None,
    by: str | None,
    always: bool,
    db: str | None,
) -> None:
    async def record() -> Any:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            outcome = await store.decide(
                run_id,
                call_id,
                decision,
                reason=reason,
                decided_by=by or getpass.getuser(),
                always=always,
            )
            return outcome

    verb = "approved" if decision == "approve" else "rejected"
    outcome = _run(record())
    done = outcome.record
    out.print(f"{verb} {done.tool_name} ({done.call_id}) in run {run_id}", markup=False)
    if not outcome.all_decided:
        err.print(
            f"the run has more pending calls; decide them too (timestep runs show {run_id})",
            style="dim",
        )
        return
    err.print(
        "every pending call is decided: a 'timestep worker' on this store resumes the run "
        f"within seconds; without one, run: timestep resume {run_id} --agent module:attribute",
        style="dim",
    )


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument()],
    call_id: Annotated[str | None, typer.Argument(help="Default: the only undecided call.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    by: ByOption = None,
    always: Annotated[
        bool, typer.Option("--always", help="Approve this tool for the run.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Approve a pending tool call (recorded with who and when)."""
    _decide("approve", run_id, call_id, reason, by, always, db)


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument()],
    call_id: Annotated[str | None, typer.Argument(help="Default: the only undecided call.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Message given to the model.")] = ...,  # type: ignore[assignment]
    by: ByOption = None,
    always: Annotated[bool, typer.Option("--always", help="Reject this tool for the run.")] = False,
    db: DbOption = None,
) -> None:
    """Reject a pending tool call; the reason is passed to the model."""
    if not reason.strip():
        raise typer.BadParameter("the reason must not be empty", param_hint="--reason")
    _decide("reject", run_id, call_id, reason, by, always, db)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument()],
    agent_ref: Annotated[
        str | None,
        typer.Option(
            "--agent",
            metavar="AGENT_REF",
            help="module:attribute to run the next segment here (default: queue for a worker)",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Resume a waiting run with its recorded decisions applied."""
    from ..runs import final_output, load_agent, resume_run
    from ._render import print_pending

    agent = load_agent(agent_ref) if agent_ref else None

    async def go() -> Any:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            await resume_run(store, run_id, agent)
            return await store.get(run_id)

    latest = _run(go())
    if agent is None:
        out.print(f"run {run_id} is queued for a 'timestep worker'", markup=False)
    elif latest.status == "waiting":
        print_pending(err, run_id, latest.pending_approvals)
    else:
        out.print(f"run {run_id} is {latest.status}", markup=False)
        text = final_output(latest.state_json or {}) if latest.status == "done" else None
        if text:
            out.print(text, markup=False)


@app.command()
def cancel(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[
        str | None, typer.Option("--by", help="Who cancels (default: the current user).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Cancel a run that has not finished (its running segment stops at the next step).

    The run records who cancelled it and when.
    """
    from ..durable import cancel_run

    async def go() -> bool:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            latest = await store.run(run_id)
            if latest.status in ("done", "failed", "cancelled"):
                raise RunFinishedError(f"run {run_id!r} is already {latest.status}")
            return await cancel_run(run_id, store=store, by=by or getpass.getuser())

    stopped = _run(go())
    out.print(f"cancelled run {run_id}", markup=False)
    if not stopped:
        err.print("no durable segment was running; only the run's status changed", style="dim")


@app.command()
def fork(
    run_id: Annotated[str, typer.Argument()],
    at: Annotated[
        int | None,
        typer.Option(
            "--at",
            metavar="STEP",
            min=0,
            help="Durable step to fork at: earlier steps replay their recorded outputs, later "
            "ones run again on a worker.",
        ),
    ] = None,
    from_version: Annotated[
        int | None,
        typer.Option(
            "--from-version", min=1, help="Instead: copy this stored version into a new run."
        ),
    ] = None,
    new_run_id: Annotated[str | None, typer.Option("--new-run-id", help="Default: new.")] = None,
    rerun_approved: Annotated[
        bool,
        typer.Option(
            "--rerun-approved",
            help="With --at: allow running human-approved tool calls again (refused otherwise).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Start a new run from a step (or a stored version) of another run."""
    if (at is None) == (from_version is None):
        raise typer.BadParameter("give exactly one of --at STEP or --from-version N")
    target = new_run_id or f"{run_id}-fork-{uuid.uuid4().hex[:6]}"

    async def go() -> str:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            if await _exists(store, target):
                raise ConfigurationError(f"run {target!r} already exists")
            if at is not None:
                from ..durable import fork_run

                await store.get(run_id)
                workflow = await fork_run(
                    run_id, target, from_step=at, store=store, rerun_approved=rerun_approved
                )
                return f"forked run {run_id} at step {at} as {target} (segment {workflow})"
            source = await store.get(run_id, version=from_version)
            assert source.state_json is not None
            stored = await store.save_json(
                target,
                source.state_json,
                language=source.language,
                sdk_version=source.sdk_version,
                status=source.status,
                metadata={"forked_from": {"run_id": run_id, "version": from_version}},
            )
            return f"forked run {run_id} at version {from_version} as {target} ({stored.status})"

    out.print(_run(go()), markup=False)


@app.command("export")
def export_command(
    run_id: Annotated[str, typer.Argument()],
    lang: Annotated[
        Literal["python", "typescript"] | None,
        typer.Option("--lang", help="SDK format to write (default: as stored)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout).")
    ] = None,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    db: DbOption = None,
) -> None:
    """Write a run's RunState JSON, translated to the other SDK's format if asked."""

    async def go() -> Any:
        async with _existing_store(db, f"no run {run_id!r}") as store:
            return await store.get(run_id, version=version)

    stored = _run(go())
    doc: dict[str, Any] = stored.state_json or {}
    if lang is not None and lang != stored.language:
        from ..state import translate

        convert = translate.to_typescript if lang == "typescript" else translate.to_python
        doc = convert(doc)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Default: the file's name.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Store a RunState JSON file (Python or TypeScript format) as a new version of a run."""
    from .._versions import TESTED_JS_SDK_VERSION, python_sdk_version
    from ..state import parse_state_text, state_facts

    doc = parse_state_text(file.read_bytes())
    facts = state_facts(doc)
    rid = run_id or file.stem
    sdk = python_sdk_version() if facts.language == "python" else TESTED_JS_SDK_VERSION

    async def go() -> Any:
        async with _store(db) as store:
            return await store.save_json(
                rid, doc, language=facts.language, sdk_version=sdk, status=facts.status
            )

    stored = _run(go())
    out.print(
        f"imported {file} as run {rid} version {stored.version} ({stored.status}, "
        f"{stored.language})",
        markup=False,
    )


@app.command()
def worker(
    agent_refs: Annotated[
        list[str] | None,
        typer.Option("--agent", help="module:attribute the worker can run (repeatable)"),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Segments at once.")
    ] = None,
    executor_id: Annotated[
        str | None, typer.Option("--executor-id", help="Worker name (recovery identity).")
    ] = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            min=0.1,
            help="Postgres: seconds without a heartbeat before a process counts as dead and "
            "workers take over its segments (default $TIMESTEP_EXECUTOR_LEASE or 20).",
        ),
    ] = None,
    heartbeat: Annotated[
        float | None,
        typer.Option(
            "--heartbeat",
            min=0.05,
            help="Postgres: seconds between lease renewals and takeover checks "
            "(default $TIMESTEP_EXECUTOR_HEARTBEAT or 5).",
        ),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Worker processes on this machine (each its own executor, sharing the queue).",
        ),
    ] = 1,
    db: DbOption = None,
) -> None:
    """Run a durable worker: recover pending segments, run queued and fully decided runs.

    On Postgres it also takes over the segments of workers that died, within lease + heartbeat.
    With --processes N it starts N worker processes (one per core, say) and supervises them.
    """
    from ..durable import worker as run_worker
    from ..runs import load_agent

    agents = [load_agent(ref) for ref in agent_refs or []]
    if not agents:
        raise typer.BadParameter("name at least one agent", param_hint="--agent")
    if processes > 1:
        from ._processes import child_args, run_processes

        err.print(f"{processes} workers on {_db(db)} (Ctrl+C to stop)", markup=False)
        code = run_processes(
            _db(db),
            [
                child_args(
                    agent_refs or [],
                    index=index,
                    concurrency=concurrency,
                    executor_id=executor_id,
                    lease=lease,
                    heartbeat=heartbeat,
                )
                for index in range(1, processes + 1)
            ],
        )
        raise typer.Exit(code)

    names = ", ".join(sorted({agent.name for agent in agents}))
    shown = _shown(_db(db))

    def ready() -> None:
        err.print(
            f"worker ready on {shown}: agents {names}; waiting for runs (Ctrl+C to stop)",
            markup=False,
        )

    async def go() -> None:
        async with _store(db) as store:
            await run_worker(
                agents,
                store=store,
                concurrency=concurrency,
                executor_id=executor_id,
                on_ready=ready,
                lease=lease,
                heartbeat=heartbeat,
            )

    from ._logging import show_segments

    show_segments()
    err.print(f"worker starting on {shown} ...", markup=False)
    _run(go())


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8765,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the access token (first line)."),
    ] = None,
    users_file: Annotated[
        Path | None,
        typer.Option(
            "--users-file",
            help="File of name:token lines; decisions are recorded under the user's name.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Access token (visible in 'ps': prefer $TIMESTEP_INBOX_TOKEN or --token-file).",
        ),
    ] = None,
    agent_refs: Annotated[
        list[str] | None,
        typer.Option("--agent", help="module:attribute to resume decided runs (repeatable)"),
    ] = None,
    db: DbOption = None,
) -> None:
    """Serve the approvals inbox (web page and JSON API) on 127.0.0.1.

    The token comes from --token-file, $TIMESTEP_INBOX_TOKEN or --token (at least 16
    characters); named users from --users-file or $TIMESTEP_INBOX_USERS (name:token pairs).
    Without any, a new token is made and printed in the sign-in URL.
    """
    from ..runs import load_agent
    from ..server import check_token, new_token, parse_users, read_secret_file
    from ..server import serve as run_server

    secret: str | None = None
    if token_file is not None:
        lines = read_secret_file(token_file).strip().splitlines()
        secret = check_token(lines[0] if lines else "", f"--token-file {token_file}")
    elif token is not None:
        secret = check_token(token, "--token")
    elif os.environ.get("TIMESTEP_INBOX_TOKEN"):
        secret = check_token(os.environ["TIMESTEP_INBOX_TOKEN"], "$TIMESTEP_INBOX_TOKEN")
    users: dict[str, str] = {}
    if users_file is not None:
        text = read_secret_file(users_file)
        users = {u.name: u.token for u in parse_users(text, f"--users-file {users_file}")}
    elif os.environ.get("TIMESTEP_INBOX_USERS"):
        pairs = parse_users(os.environ["TIMESTEP_INBOX_USERS"], "$TIMESTEP_INBOX_USERS")
        users = {u.name: u.token for u in pairs}
    if secret is None and not users:
        secret = new_token()
    agents = [load_agent(ref) for ref in agent_refs or []]
    store = _store(db)
    if store.kind == "file":
        raise ConfigurationError(f"store {store.url!r} is a file, not a database")
    store.open()  # fail now, not on the first request
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: serving on {host}, reachable from other machines", style="yellow")
    if token is not None:
        err.print(
            "warning: --token is visible to other users in 'ps'; prefer --token-file or "
            "$TIMESTEP_INBOX_TOKEN",
            style="yellow",
        )

    def ready(url: str) -> None:
        out.print(f"timestep inbox on {url}", markup=False)
        out.print("open that URL in a browser; API clients send 'Authorization: Bearer <token>'")
        sys.stdout.flush()

    run_server(
        store, token=secret, users=users, host=host, port=port, agents=agents, on_ready=ready
    )


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate timestep's tables and DBOS's (for durable runs) to the newest schema."""
    from ..durable import prepare_system_database

    store = _store(db)
    revision = store.upgrade()
    out.print(f"{store.url} is at revision {revision}", markup=False)
    if store.kind != "file":
        system = prepare_system_database(store)
        out.print(f"DBOS system tables are ready in {system}", markup=False)
