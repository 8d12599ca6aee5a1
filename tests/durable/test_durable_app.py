"""A durable test agent and a command line for crash tests (no tests in this module).

The scripted model is stateless: its answer depends only on how many tool outputs the input already
holds, so a restarted process continues the same script. Model calls and tool executions are
appended to ``$TIMESTEP_TEST_LOG`` (one JSON line each, fsynced) and ``$TIMESTEP_CRASH`` names a
point where the process kills itself with SIGKILL:

- ``model:<turn>``   inside a model call, before its step is checkpointed
- ``tool:<call_id>`` after a tool's side effect, before its step is checkpointed
- ``save``           after the end-of-segment state is committed, before the segment's workflow
  recorded its end
- ``waiting``        after the run paused for approval (the process dies while the run waits)
- ``session``        after a session write is committed, before that step's checkpoint
- ``delta:<n>``      while a model call streams text, before its ``n``-th word is sent (scenario
  ``retry_text``: the model streams word by word and answers differently on each attempt)

With ``$TIMESTEP_TEST_BLOCK_FILE`` set, the charge tool's call ``$TIMESTEP_TEST_BLOCK_CALL``
(default ``call_1``) runs its side effect, then waits until that file exists.

Usage: ``python tests/durable/test_durable_app.py run STORE RUN_ID [--stream] [--session ID]``,
``python tests/durable/test_durable_app.py resume STORE RUN_ID`` (the next segment of a decided
run, in this process) or ``python tests/durable/test_durable_app.py worker STORE [EXECUTOR_ID]
[CONCURRENCY]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, function_tool
from agents.items import TResponseStreamEvent
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from openai.types.responses import ResponseTextDeltaEvent

from timestep.durable import idempotency_key
from timestep.durable._steps import current_segment

TURNS = int(os.environ.get("TIMESTEP_TEST_TURNS", "3"))
SCENARIO = os.environ.get("TIMESTEP_TEST_SCENARIO", "charges")


def record(kind: str, **fields: Any) -> None:
    """Append one event to the test log (durably, since the process may be killed next)."""
    path = os.environ.get("TIMESTEP_TEST_LOG")
    if not path:
        return
    segment = current_segment.get()
    run = segment.run_id if segment is not None else None
    line = json.dumps({"kind": kind, "pid": os.getpid(), "run": run, **fields})
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def maybe_crash(point: str) -> None:
    """SIGKILL this process if ``$TIMESTEP_CRASH`` names ``point``."""
    if os.environ.get("TIMESTEP_CRASH") == point:
        record("crash", point=point)
        os.kill(os.getpid(), signal.SIGKILL)


def read_log(path: str) -> list[dict[str, Any]]:
    """The test log's events."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


def _outputs(call: ModelCall) -> int:
    items = call.input if isinstance(call.input, list) else []
    return sum(1 for i in items if isinstance(i, dict) and i.get("type") == "function_call_output")


#: What the ``retry_text`` scenario's final model call answers on its 1st, 2nd, 3rd... attempt:
#: every attempt differs, and the later ones are shorter than the earlier ones.
RETRY_TEXTS = (
    "The first attempt writes a long answer that a crash cuts off before its end.",
    "A second attempt, cut off as well.",
    "Charged once.",
)


def _attempt(turn: int) -> int:
    """How many times this turn's model call has started, across processes (1 = first)."""
    log = read_log(os.environ.get("TIMESTEP_TEST_LOG", ""))
    return sum(1 for e in log if e["kind"] == "model" and e["turn"] == turn)


def respond(call: ModelCall) -> Any:
    """The script: TURNS charge turns (or one approval / one parallel turn), then an answer."""
    turn = _outputs(call)
    record("model", turn=turn)
    maybe_crash(f"model:{turn}")
    if SCENARIO == "retry_text":
        if turn == 0:
            return [function_call("charge", {"amount": 1}, call_id="call_once")]
        return [assistant_message(RETRY_TEXTS[min(_attempt(turn), len(RETRY_TEXTS)) - 1])]
    if SCENARIO in ("approval", "approval_echo"):
        if turn == 0:
            return [function_call("refund", {"order": 42}, call_id="call_refund")]
        if SCENARIO == "approval_echo":  # say what the tool call gave the model
            items = call.input if isinstance(call.input, list) else []
            outputs = [i.get("output") for i in items if isinstance(i, dict) and "output" in i]
            return [assistant_message(f"refund handled: {outputs[-1]}")]
        return [assistant_message("refund handled")]
    if SCENARIO == "mcp":
        if turn == 0:
            return [function_call("add", {"a": 2, "b": 3}, call_id="call_mcp")]
        return [assistant_message("the sum is known")]
    if SCENARIO == "parallel":
        if turn == 0:
            return [function_call("charge", {"amount": n}, call_id=f"call_p{n}") for n in range(3)]
        return [assistant_message("charged in parallel")]
    if turn < TURNS:
        return [function_call("charge", {"amount": turn}, call_id=f"call_{turn}")]
    return [assistant_message(f"charged {TURNS} times")]


@function_tool
async def charge(ctx: ToolContext[Any], amount: int) -> str:
    """Charge the customer (a side effect that must not repeat)."""
    record("tool", call_id=ctx.tool_call_id, key=idempotency_key(ctx), amount=amount)
    maybe_crash(f"tool:{ctx.tool_call_id}")
    await asyncio.sleep(float(os.environ.get("TIMESTEP_TEST_TOOL_SLEEP", "0")))
    await _blocked(ctx.tool_call_id)
    return f"charged {amount}"


async def _blocked(call_id: str) -> None:
    """Hold the call named by ``$TIMESTEP_TEST_BLOCK_CALL`` until the release file exists."""
    release = os.environ.get("TIMESTEP_TEST_BLOCK_FILE")
    if release and call_id == os.environ.get("TIMESTEP_TEST_BLOCK_CALL", "call_1"):
        while not os.path.exists(release):
            await asyncio.sleep(0.05)


@function_tool(needs_approval=True)
async def refund(ctx: ToolContext[Any], order: int) -> str:
    """Refund an order (needs a human's approval)."""
    record("tool", call_id=ctx.tool_call_id, key=idempotency_key(ctx), order=order)
    maybe_crash(f"tool:{ctx.tool_call_id}")
    return f"refunded {order}"


class WordStreamingModel(ScriptedModel):
    """A ScriptedModel that streams text one word per delta, and may crash between two words."""

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        async for event in super().stream_response(*args, **kwargs):
            if not isinstance(event, ResponseTextDeltaEvent):
                yield event
                continue
            for n, word in enumerate(re.findall(r"\S+\s*", event.delta)):
                maybe_crash(f"delta:{n}")
                await asyncio.sleep(float(os.environ.get("TIMESTEP_TEST_DELTA_SLEEP", "0.02")))
                yield event.model_copy(update={"delta": word})


def make_agent(mcp_servers: list[Any] | None = None) -> Agent[Any]:
    """A fresh agent with a fresh scripted model."""
    steps = [ModelStep.respond(respond) for _ in range(200)]
    model = WordStreamingModel(steps) if SCENARIO == "retry_text" else ScriptedModel(steps)
    return Agent(name="payer", model=model, tools=[charge, refund], mcp_servers=mcp_servers or [])


MCP_SERVER_SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "harness", "mcp_counter.py"
)


def mcp_counter() -> Any:
    """The test MCP server (tests/harness/mcp_counter.py) over stdio; logs to $TIMESTEP_MCP_LOG."""
    from agents.mcp import MCPServerStdio

    def after_call(ctx: Any) -> None:
        # runs after the MCP server executed the call, before the step's checkpoint
        maybe_crash(f"tool:{getattr(ctx.run_context, 'tool_call_id', '')}")

    return MCPServerStdio(
        params={"command": sys.executable, "args": [MCP_SERVER_SCRIPT], "env": dict(os.environ)},
        name="counter",
        custom_data_extractor=after_call,
    )


def _install_save_crash() -> None:
    if os.environ.get("TIMESTEP_CRASH") != "save":
        return
    from timestep.state import RunStateStore

    original = RunStateStore.save

    async def save(self: RunStateStore, *args: Any, **kwargs: Any) -> Any:
        stored = await original(self, *args, **kwargs)
        maybe_crash("save")
        return stored

    RunStateStore.save = save  # type: ignore[method-assign]


def _install_session_crash() -> None:
    if os.environ.get("TIMESTEP_CRASH") != "session":
        return
    from agents.extensions.memory import SQLAlchemySession

    original = SQLAlchemySession.add_items

    async def add_items(self: SQLAlchemySession, items: Any) -> None:
        await original(self, items)
        maybe_crash("session")

    SQLAlchemySession.add_items = add_items  # type: ignore[method-assign]


async def _main(argv: list[str]) -> None:
    from timestep.durable import attach_stream, run_durable, worker
    from timestep.state import RunStateStore

    _install_save_crash()
    _install_session_crash()
    command, target = argv[0], argv[1]
    store = RunStateStore(target)
    servers: list[Any] = []
    if SCENARIO == "mcp":
        servers.append(mcp_counter())
        await servers[0].connect()
    if command == "run":
        run_id = argv[2]
        stream = "--stream" in argv
        agent = make_agent(servers)
        session = None
        if "--session" in argv:
            from timestep.state import open_session

            session = open_session(argv[argv.index("--session") + 1], db=target)
        result = await run_durable(
            agent, "pay", run_id=run_id, store=store, stream=stream, session=session
        )
        if stream:
            async for _event in result.stream_events():  # type: ignore[union-attr]
                pass
        if result.interruptions:
            record("waiting", run_id=run_id)
            maybe_crash("waiting")
        record("finished", run_id=run_id, output=str(result.final_output))
        print(json.dumps({"final_output": str(result.final_output)}), flush=True)
        for server in servers:
            await server.cleanup()
    elif command == "resume":
        from timestep.durable import resume

        resumed = await resume(argv[2], store=store, agent=make_agent(servers))
        assert resumed is not None
        record("finished", run_id=argv[2], output=str(resumed.final_output))
        print(json.dumps({"final_output": str(resumed.final_output)}), flush=True)
    elif command == "worker":
        executor = argv[2] if len(argv) > 2 and argv[2] != "-" else None
        concurrency = int(argv[3]) if len(argv) > 3 else None
        record("worker_started", executor=executor)
        await worker(
            [make_agent(servers)], store=store, executor_id=executor, concurrency=concurrency
        )
    elif command == "attach":
        async for event in attach_stream(argv[2], timeout=60):
            print(json.dumps(event), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
