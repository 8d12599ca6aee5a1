"""The ``timestep`` command's Typer application."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
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
    add_completion=False,
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


def _store(db: str | None) -> Any:
    from ..state import RunStateStore

    return RunStateStore(_db(db))


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


@app.callback()
def _root(
    db: DbOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and more detail.")
    ] = False,
) -> None:
    settings.db = db
    settings.verbose = verbose


@app.command()
def demo(
    model: Annotated[
        str | None, typer.Option("--model", help="Model to run the demo with.")
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Run id (default: new)")] = None,
    db: DbOption = None,
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
            async for event in result.stream_events():
                data = getattr(event, "data", None)
                if getattr(event, "type", "") == "raw_response_event" and (
                    getattr(data, "type", "") == "response.output_text.delta"
                ):
                    sys.stdout.write(str(getattr(data, "delta", "")))
                    sys.stdout.flush()
            result = await run_module.consume_result(result)
            sys.stdout.write("\n")
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


@runs_app.command("list")
def runs_list(
    status: Annotated[
        Status | None, typer.Option("--status", help="Only runs with this status.")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List stored runs: status, agent, age, pending approvals."""
    from ..runs import list_summaries
    from ._render import runs_table

    async def fetch() -> list[dict[str, Any]]:
        async with _store(db) as store:
            return await list_summaries(store, status)

    runs = _run(fetch())
    if as_json:
        _print_json(runs)
    elif not runs:
        err.print("no runs" + (f" with status {status}" if status else ""))
    else:
        out.print(runs_table(runs))


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
        async with _store(db) as store:
            return await run_detail(store, run_id)

    detail = _run(fetch())
    if as_json:
        _print_json(detail)
    else:
        out.print(run_view(detail))


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
    _run(_follow(run_id, after, raw, db))


async def _follow(run_id: str, after: int, raw: bool, db: str | None) -> None:
    from ..durable import StreamText, attach_stream

    text = StreamText()
    async with _store(db) as store:
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
                # a terminal cannot take text back: say so, and start the retry on a new line
                sys.stdout.write("\n")
                sys.stdout.flush()
                why = (
                    f"failed ({event.get('error')})"
                    if event.get("reason") == "failed"
                    else "was cut off (its process stopped)"
                )
                err.print(
                    f"[model call {change.step}, attempt {change.attempt} {why}: the text above "
                    "since the previous line is not part of the output; a retry follows]",
                    style="dim",
                    markup=False,
                )
            elif event.get("type") == "segment_end":
                ended = f"[run {event.get('status')}" + (
                    f": {event['error']}]" if event.get("error") else "]"
                )
                sys.stdout.write("\n")
                err.print(ended, style="dim", markup=False)


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
        async with _store(db) as store:
            outcome = await store.decide(
                run_id,
                call_id,
                decision,
                reason=reason,
                decided_by=by or getpass.getuser(),
                always=always,
            )
            return outcome.record

    verb = "approved" if decision == "approve" else "rejected"
    done = _run(record())
    out.print(f"{verb} {done.tool_name} ({done.call_id}) in run {run_id}", markup=False)
    err.print(
        f"resume with: timestep resume {run_id} --agent module:attribute "
        "(or let a 'timestep worker' pick it up)",
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
        async with _store(db) as store:
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
    db: DbOption = None,
) -> None:
    """Cancel a run that has not finished (its running segment stops at the next step)."""
    from ..durable import cancel_run

    async def go() -> bool:
        async with _store(db) as store:
            latest = await store.run(run_id)
            if latest.status in ("done", "failed", "cancelled"):
                raise RunFinishedError(f"run {run_id!r} is already {latest.status}")
            return await cancel_run(run_id, store=store)

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
    db: DbOption = None,
) -> None:
    """Start a new run from a step (or a stored version) of another run."""
    if (at is None) == (from_version is None):
        raise typer.BadParameter("give exactly one of --at STEP or --from-version N")
    target = new_run_id or f"{run_id}-fork-{uuid.uuid4().hex[:6]}"

    async def go() -> str:
        async with _store(db) as store:
            if await _exists(store, target):
                raise ConfigurationError(f"run {target!r} already exists")
            if at is not None:
                from ..durable import fork_run

                await store.get(run_id)
                workflow = await fork_run(run_id, target, from_step=at, store=store)
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
        async with _store(db) as store:
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
    db: DbOption = None,
) -> None:
    """Run a durable worker: recover pending segments, run queued and fully decided runs."""
    from ..durable import worker as run_worker
    from ..runs import load_agent

    agents = [load_agent(ref) for ref in agent_refs or []]
    if not agents:
        raise typer.BadParameter("name at least one agent", param_hint="--agent")

    async def go() -> None:
        async with _store(db) as store:
            await run_worker(agents, store=store, concurrency=concurrency, executor_id=executor_id)

    err.print(f"worker on {_db(db)} (Ctrl+C to stop)", markup=False)
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
