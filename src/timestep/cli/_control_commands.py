"""Commands that change a run: approve, reject, answer, resume, cancel, fork, export, import."""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from .._errors import ConfigurationError, RunFinishedError
from ._common import (
    DbOption,
    _existing_store,
    _exists,
    _run,
    _store,
    app,
    err,
    out,
)

ByOption = Annotated[
    str | None, typer.Option("--by", help="Who decides (default: the current user).")
]


def _decide(
    decision: Literal["approve", "reject", "answer"],
    run_id: str,
    call_id: str | None,
    reason: str | None,
    by: str | None,
    always: bool,
    db: str | None,
    arguments: str | None = None,
    output: str | None = None,
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
                arguments=arguments,
                output=output,
            )
            return outcome

    verb = {"approve": "approved", "reject": "rejected", "answer": "answered"}[decision]
    outcome = _run(record())
    done = outcome.record
    line = f"{verb} {done.tool_name} ({done.call_id}) in run {run_id}"
    if done.arguments is not None:
        line += f" with edited arguments {done.arguments} (the model's: {done.original_arguments})"
    elif done.output is not None:
        line += f"; the tool does not run, the model gets: {done.output}"
    out.print(line, markup=False)
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


CallIdArgument = Annotated[str | None, typer.Argument(help="Default: the only undecided call.")]


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument()],
    call_id: CallIdArgument = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    by: ByOption = None,
    always: Annotated[
        bool, typer.Option("--always", help="Approve this tool for the run.")
    ] = False,
    arguments: Annotated[
        str | None,
        typer.Option(
            "--arguments",
            "--edit",
            metavar="JSON",
            help="Run the tool with these arguments (a JSON object) instead of the model's.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Approve a pending tool call (recorded with who and when), as called or with edited
    arguments."""
    _decide("approve", run_id, call_id, reason, by, always, db, arguments=arguments)


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument()],
    call_id: CallIdArgument = None,
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
def answer(
    run_id: Annotated[str, typer.Argument()],
    call_id: CallIdArgument = None,
    output: Annotated[
        str,
        typer.Option("--output", metavar="TEXT", help="The tool's output the model gets."),
    ] = ...,  # type: ignore[assignment]
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded; not sent).")
    ] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Answer a pending tool call instead of running the tool: the model gets --output as the
    tool's output."""
    _decide("answer", run_id, call_id, reason, by, False, db, output=output)


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
