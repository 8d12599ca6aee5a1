"""Cross-language sessions: conversation history written by one language is read by the other.

Python's ``timestep.open_session`` (the SDK's ``SQLAlchemySession``) and the TypeScript package's
``openSession`` share the tables ``timestep_sessions`` / ``timestep_session_items``, whose rows
always hold Python-format items (the TypeScript session translates on write and read). The Node
half is ``ts/test/session-driver.ts``; both agents talk to fake Ollama servers on 127.0.0.1, so
the tests check the exact conversation each model receives.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, function_tool
from sqlalchemy import text

from harness.fake_ollama import FakeOllama
from harness.node import built_node
from timestep import open_session, run_agent
from timestep.state._engine import get_engine

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "session-driver.js"
CONFIG = RunConfig(tracing_disabled=True)

# One conversation in each SDK's format (the TypeScript twins are in ts/test/session.test.ts).
JS_ITEMS: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": "Order 42?"},
    {
        "type": "function_call",
        "callId": "call_1",
        "name": "lookup",
        "arguments": '{"order_id":"42"}',
        "status": "completed",
    },
    {
        "type": "function_call_result",
        "callId": "call_1",
        "name": "lookup",
        "status": "completed",
        "output": {"type": "text", "text": "order 42: paid"},
    },
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "It is paid."}],
    },
]
PY_ITEMS: list[dict[str, Any]] = [
    {"content": "Order 42?", "role": "user"},
    {
        "arguments": '{"order_id":"42"}',
        "call_id": "call_1",
        "name": "lookup",
        "type": "function_call",
        "status": "completed",
    },
    {"call_id": "call_1", "output": "order 42: paid", "type": "function_call_output"},
    {
        "id": "msg_1",
        "content": [
            {"annotations": [], "text": "It is paid.", "type": "output_text", "logprobs": []}
        ],
        "role": "assistant",
        "status": "completed",
        "type": "message",
    },
]


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the TypeScript package and its session driver built."""
    return built_node(DRIVER)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database shared by both runtimes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sessions.db'}"
    else:
        yield str(request.getfixturevalue("postgres_db_url"))


def run_node(node: str, *args: str) -> Any:
    done = subprocess.run(
        [node, str(DRIVER), *args], cwd=TS, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise AssertionError(f"node {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def raw_rows(db_url: str, session_id: str) -> list[dict[str, Any]]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT message_data FROM timestep_session_items WHERE session_id = :s ORDER BY id"
            ),
            {"s": session_id},
        ).all()
    return [json.loads(row[0]) for row in rows]


@function_tool
def lookup(order_id: str) -> str:
    """Look up an order."""
    return f"order {order_id}: paid"


def py_agent() -> Agent[Any]:
    return Agent(name="support", instructions="Help.", model="ollama/qwen-test", tools=[lookup])


async def test_typescript_writes_python_reads(node: str, db_url: str) -> None:
    run_node(node, "write", db_url, "ts-wrote", json.dumps(JS_ITEMS))
    assert raw_rows(db_url, "ts-wrote") == PY_ITEMS  # one canonical format: Python's
    session = open_session("ts-wrote", db_url)
    assert await session.get_items() == PY_ITEMS
    assert await session.get_items(limit=1) == PY_ITEMS[-1:]
    # Python keeps writing to the same history; TypeScript sees all of it.
    await session.add_items([{"role": "user", "content": "Thanks!"}])
    items = run_node(node, "read", db_url, "ts-wrote")
    assert items == [*JS_ITEMS, {"type": "message", "role": "user", "content": "Thanks!"}]


async def test_python_writes_typescript_reads(node: str, db_url: str) -> None:
    session = open_session("py-wrote", db_url)
    await session.add_items(PY_ITEMS)  # type: ignore[arg-type]
    assert run_node(node, "read", db_url, "py-wrote") == JS_ITEMS
    assert run_node(node, "pop", db_url, "py-wrote") == JS_ITEMS[-1]
    assert run_node(node, "pop", db_url, "py-wrote") == JS_ITEMS[-2]  # its name from its call
    assert await session.get_items() == PY_ITEMS[:2]


async def test_agents_continue_each_others_conversation(
    node: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Turn 1, Python: a tool call, its result, an answer.
    with FakeOllama(models=["qwen-test"]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        fake.add_tool_call("lookup", {"order_id": "42"}).add_text("Order 42 is paid.")
        result = await run_agent(
            py_agent(), "Order 42?", session=open_session("chat", db_url), run_config=CONFIG
        )
        assert result.final_output == "Order 42 is paid."

    # Turn 2, TypeScript: its model sees Python's turn, and it adds its own.
    replies = [
        {"toolCalls": [{"name": "lookup", "arguments": {"order_id": "43"}}]},
        {"content": "Order 43 is paid too."},
    ]
    facts = run_node(node, "chat", db_url, "chat", "And 43?", json.dumps(replies))
    assert facts["finalOutput"] == "Order 43 is paid too."
    python_turn = [
        {"role": "user", "content": "Order 42?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "lookup", "arguments": {"order_id": "42"}}}],
        },
        {"role": "tool", "content": "order 42: paid", "tool_name": "lookup"},
        {"role": "assistant", "content": "Order 42 is paid."},
    ]
    assert facts["messages"][0] == [
        {"role": "system", "content": "Help."},
        *python_turn,
        {"role": "user", "content": "And 43?"},
    ]
    typescript_turn = [
        {"role": "user", "content": "And 43?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "lookup", "arguments": {"order_id": "43"}}}],
        },
        {"role": "tool", "content": "order 43: paid", "tool_name": "lookup"},
        {"role": "assistant", "content": "Order 43 is paid too."},
    ]
    assert facts["messages"][1] == [
        {"role": "system", "content": "Help."},
        *python_turn,
        *typescript_turn[:3],
    ]

    # Turn 3, Python again: its model sees both turns.
    with FakeOllama(models=["qwen-test"]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        fake.add_text("You are welcome.")
        result = await run_agent(
            py_agent(), "Thanks!", session=open_session("chat", db_url), run_config=CONFIG
        )
        assert result.final_output == "You are welcome."
        assert fake.chat_bodies()[0]["messages"] == [
            {"role": "system", "content": "Help."},
            *python_turn,
            *typescript_turn,
            {"role": "user", "content": "Thanks!"},
        ]
    rows = raw_rows(db_url, "chat")
    assert all("callId" not in row and row.get("type") != "function_call_result" for row in rows)
    assert len(rows) == 10
