"""Long-running commands and the database: ``worker``, ``serve``, ``db upgrade``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._env import LeaseSettings, executor_threads, tool_threads
from .._errors import ConfigurationError
from ._common import (
    DbOption,
    _db,
    _run,
    _shown,
    _store,
    app,
    db_app,
    err,
    out,
)
from ._gc import tune_gc, worker_gc_threshold


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
    # bad values fail here, before anything starts (not once in each child of --processes)
    gc_threshold = worker_gc_threshold()
    executor_threads()
    tool_threads()
    LeaseSettings.resolve(heartbeat, lease)
    if processes > 1:
        from ._processes import child_args, run_processes

        err.print(f"{processes} workers on {_shown(_db(db))} (Ctrl+C to stop)", markup=False)
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
        tune_gc(gc_threshold)
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
