"""Shared helpers for the CLI, inbox and durable tests: scripted agents, stored runs, the CLI.

The agents live in a small module written to a temporary directory, so that the CLI (in process or
as a subprocess started in that directory) can import them as ``timestep_test_agents:start`` etc.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner

from timestep.cli import main
from timestep.state import RunStateStore, StoredState

AGENTS_MODULE = "timestep_test_agents"

AGENTS_SOURCE = '''
"""Scripted agents for timestep's CLI and inbox tests."""

from agents import Agent, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund part of an order."""
    return f"refunded {amount} on order {order_id}"


@function_tool
def lookup(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id}: paid 5"


def start() -> Agent:
    """Looks the order up, then asks to refund it (and pauses for approval)."""
    return Agent(
        name="support",
        instructions="Refund orders.",
        tools=[lookup, refund],
        model=ScriptedModel(
            [
                [function_call("lookup", {"order_id": "42"}, call_id="call-lookup")],
                [function_call("refund", {"order_id": "42", "amount": 5}, call_id="call-refund")],
            ]
        ),
    )


def finish() -> Agent:
    """Continues a paused run: answers after the refund tool ran (or was rejected)."""
    return Agent(
        name="support",
        instructions="Refund orders.",
        tools=[lookup, refund],
        model=ScriptedModel([[assistant_message("Refunded 5 on order 42.")]]),
    )


def finish_any() -> Agent:
    """Continues any number of paused runs (one scripted answer each)."""
    return Agent(
        name="support",
        instructions="Refund orders.",
        tools=[lookup, refund],
        model=ScriptedModel([[assistant_message("Handled order 42.")] for _ in range(20)]),
    )


def chat() -> Agent:
    """Answers at once, without tools."""
    return Agent(
        name="greeter",
        model=ScriptedModel([[assistant_message("Hello from timestep.")]]),
    )
'''


def write_agents_module(directory: Path) -> Path:
    """Write the agents module into ``directory`` (importable once it is on ``sys.path``)."""
    path = directory / f"{AGENTS_MODULE}.py"
    path.write_text(AGENTS_SOURCE, encoding="utf-8")
    return path


def agents_module(directory: Path) -> Any:
    """Import the agents module from ``directory``."""
    write_agents_module(directory)
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    sys.modules.pop(AGENTS_MODULE, None)
    import importlib

    return importlib.import_module(AGENTS_MODULE)


async def interrupted_run(store: RunStateStore, run_id: str, agent: Agent[Any]) -> StoredState:
    """Run ``agent`` (from ``start()``) until it pauses for the refund approval, and save it."""
    result = await Runner.run(agent, "Refund order 42", max_turns=5)
    assert result.interruptions, "the scripted run should pause for approval"
    return await store.save(result, run_id=run_id)


async def finished_run(store: RunStateStore, run_id: str, agent: Agent[Any]) -> StoredState:
    """Run ``agent`` (from ``chat()``) to its final answer, and save it."""
    result = await Runner.run(agent, "Hi", max_turns=3)
    return await store.save(result, run_id=run_id)


def cli_env(db_url: str) -> dict[str, str]:
    """Environment for a ``timestep`` subprocess using ``db_url``, offline."""
    env = dict(os.environ)
    env["TIMESTEP_DB"] = db_url
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    env.pop("TIMESTEP_INBOX_TOKEN", None)
    return env


def reset_durable() -> None:
    """Destroy this process's DBOS instance so the next test can launch it on its own database."""
    from timestep.durable import shutdown

    shutdown()
    # DBOS's console log handler keeps the stderr of the test that launched it; capsys closes
    # that stream, and the next launch flushes the handler.
    for handler in logging.getLogger("dbos").handlers:
        if handler.name == "__dbos_console_log_handler__":
            handler.stream = sys.__stderr__  # type: ignore[attr-defined]


def empty_steps_workflow(name: str, steps: int = 3) -> Any:
    """A DBOS workflow registered as ``name``: ``steps`` empty async steps, outside any segment."""
    from dbos import DBOS

    async def nothing() -> int:
        return 1

    @DBOS.workflow(name=name)
    async def plain() -> int:
        return sum([await DBOS.run_step_async({"name": "s"}, nothing) for _ in range(steps)])

    return plain


class Cli:
    """Runs ``timestep`` in process against one database and captures its output."""

    def __init__(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--db", self.db, *args])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)
