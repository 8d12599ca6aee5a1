"""The README's main job: an approval-gated run that pauses, is approved, and resumes elsewhere.

``timestep demo`` (or ``python -m timestep.demo``) runs an agent with a refund tool that needs a
human's approval, durably, on the embedded SQLite default. The run pauses at the tool call, the
pending approval is shown and approved, and a *new process* resumes the run from the store and
prints the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from agents import Agent, ModelSettings, function_tool, set_tracing_disabled
from agents.models.interface import Model
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

SCRIPTED = "scripted"
LOCAL_MODEL = "local/qwen2.5-0.5b"
DEFAULT_DB = "sqlite:///timestep-demo/timestep.db"
PROMPT = "Please refund $25 for order 42: the parcel arrived damaged."


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on ``order_id`` (a side effect: a human must approve it)."""
    return f"Refund of ${amount} issued for order {order_id}; confirmation R-{order_id}-{amount}."


def _answer_from_tool_output(call: ModelCall) -> ModelStep:
    outputs = [
        item.get("output")
        for item in call.input
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    text = str(outputs[-1]) if outputs else "I could not issue the refund."
    return ModelStep(output=[assistant_message(f"Done. {text}")])


def scripted_model(phase: str) -> Model:
    """The demo's scripted stand-in for an LLM: asks for the refund, then reports its result."""
    if phase == "start":
        call = function_call("refund", {"order_id": "42", "amount": 25}, call_id="call_refund_42")
        return ScriptedModel([[call]])
    return ScriptedModel([ModelStep.respond(_answer_from_tool_output)])


def build_agent(model: str | Model) -> Agent[Any]:
    """The demo's support agent with its approval-gated refund tool."""
    return Agent(
        name="support",
        instructions=(
            "You are a support agent. To refund an order, call the refund tool with the order id "
            "and the amount in dollars. After the tool returns, tell the user its result."
        ),
        model=model,
        model_settings=ModelSettings(temperature=0, max_tokens=200),
        tools=[refund],
    )


def _say(step: str, text: str) -> None:
    print(f"[{step}] {text}", flush=True)


async def _start(model_name: str, db: str, run_id: str) -> int:
    from . import RunStateStore, consume_result, run_agent
    from .durable import approve
    from .models import MultiModelProvider

    if model_name.startswith("local/"):
        from .models.local import ensure_local_model

        _say("setup", "local model: building/fetching once if needed (cached afterwards) ...")
        ensure_local_model(progress=True)
    if model_name != SCRIPTED:
        MultiModelProvider().get_model(model_name)  # fail fast on an unknown prefix
    model: str | Model = scripted_model("start") if model_name == SCRIPTED else model_name
    agent = build_agent(model)
    store = RunStateStore(db)
    if model_name == SCRIPTED:
        _say("note", "model: scripted stand-in (no LLM); omit --model to use the local model")
    else:
        _say("note", f"model: {model_name}")
    _say("1/4", f"starting durable run {run_id!r} on {store.url}")
    _say("1/4", f"user: {PROMPT}")
    result = await consume_result(
        await run_agent(agent, PROMPT, session=None, stream=False, run_id=run_id, store=store)
    )
    if not result.interruptions:
        _say("error", f"the model did not ask for the refund; it said: {result.final_output!r}")
        return 1
    stored = await store.get(run_id)
    _say("2/4", f"run is {stored.status!r}; pending approvals (version {stored.version}):")
    for pending in stored.pending_approvals:
        args = json.dumps(json.loads(pending.arguments or "{}"))
        print(f"        - {pending.tool_name}({args})  call_id={pending.call_id}", flush=True)
    for pending in stored.pending_approvals:
        await approve(run_id, pending.call_id, by="demo-operator", store=store)
        _say("2/4", f"approved {pending.call_id} as 'demo-operator'")
    command = [sys.executable, "-m", "timestep.demo", "--resume", run_id, "--db", db]
    command += ["--model", model_name]
    _say("3/4", "resuming in a new process from the store ...")
    completed = subprocess.run(command, check=False)
    return completed.returncode


async def _resume(model_name: str, db: str, run_id: str) -> int:
    from . import RunStateStore
    from .durable import resume

    model: str | Model = scripted_model("resume") if model_name == SCRIPTED else model_name
    agent = build_agent(model)
    store = RunStateStore(db)
    _say("3/4", f"process {os.getpid()} resumes run {run_id!r}")
    result = await resume(run_id, store=store, agent=agent)
    assert result is not None
    stored = await store.get(run_id)
    saved = sorted(v.version for v in await store.versions(run_id))
    listed = ", ".join(str(v) for v in saved)
    where = f"at version {stored.version} ({len(saved)} saved: {listed})"
    _say("4/4", f"run is {stored.status!r} {where}")
    print(f"\nAnswer: {result.final_output}", flush=True)
    print(
        f"\nInspect it: timestep --db {db} runs show {run_id}\n"
        f"List runs:  timestep --db {db} runs list",
        flush=True,
    )
    return 0 if stored.status == "done" else 1


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="timestep demo", description=__doc__)
    parser.add_argument(
        "--model",
        default=LOCAL_MODEL,
        help="model name (default: %(default)s, offline), or 'scripted' for a stand-in without LLM",
    )
    parser.add_argument("--db", default=DEFAULT_DB, help="store URL (default: %(default)s)")
    parser.add_argument("--run-id", default=None, help="run id (default: a new one)")
    parser.add_argument("--resume", metavar="RUN_ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not os.environ.get("OPENAI_API_KEY"):
        set_tracing_disabled(True)  # nowhere to export traces to; keep the output clean
    if args.db.startswith("sqlite:///"):
        Path(args.db.removeprefix("sqlite:///")).expanduser().parent.mkdir(
            parents=True, exist_ok=True
        )
    if args.resume:
        return asyncio.run(_resume(args.model, args.db, args.resume))
    run_id = args.run_id or f"demo-{uuid.uuid4().hex[:8]}"
    return asyncio.run(_start(args.model, args.db, run_id))


if __name__ == "__main__":
    sys.exit(main())
