"""The ``timestep`` command's Typer application: global options, ``demo`` and ``run``.

The other commands live in modules by area; importing them (at the end) registers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated, Any

import typer

from .._errors import ConfigurationError
from ._common import (
    DbOption,
    _db,
    _exists,
    _run,
    _store,
    app,
    err,
    out,
    settings,
)
from ._runs_commands import _print_stream


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


# The commands by area: importing a module registers its commands on ``app``.
from . import (  # noqa: E402, F401
    _control_commands,
    _runs_commands,
    _service_commands,
    _workers_commands,
)
