"""The TypeScript twin's new surface across languages, on one store and the same fake services:
decisions made in TypeScript and in Python on one run both land in the audit trail; a run made
in TypeScript is listed and shown (with its history and decisions) by Python's CLI; web search
gives the model identical text from both languages."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import ddgs.engines.duckduckgo as ddg_engine
import pytest

from harness.fake_search import FakeSearch, Hit, fake_search_server
from harness.node import built_package_node, run_node
from timestep import RunStateStore
from timestep.tools import DdgsSearch, FirecrawlSearch, OllamaSearch, web_search_tool


@pytest.fixture(scope="module")
def node() -> str:
    return built_package_node()


AGENT = """
    import { Agent, tool, setTracingDisabled } from '@openai/agents';
    import { ScriptedModel, functionCall } from '@openai/agents-core/testing';
    import { z } from 'zod';
    setTracingDisabled(true);
    const refund = tool({
      name: 'refund', description: 'Refund an order.',
      parameters: z.object({ order_id: z.string(), amount: z.number().int() }),
      needsApproval: true,
      execute: async ({ order_id, amount }) => `refunded ${order_id} ${amount}`,
    });
    const model = new ScriptedModel([[
      functionCall('refund', { order_id: '1', amount: 1 }, { callId: 'call_1' }),
      functionCall('refund', { order_id: '2', amount: 2 }, { callId: 'call_2' }),
    ]]);
    const agent = new Agent({ name: 'support', instructions: 'Help.', model, tools: [refund] });
"""


def cli(*args: str) -> Any:
    timestep = Path(sys.executable).with_name("timestep")
    done = subprocess.run(
        [str(timestep), *args, "--json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_decisions_from_both_languages_in_one_audit_trail(tmp_path: Path, node: str) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    started = run_node(
        node,
        tmp_path,
        AGENT
        + f"""
        import {{ RunStateStore, approve, runAgent }} from '@timestep-ai/timestep';
        const store = new RunStateStore('{db}');
        // durable: false: saved, not checkpointed (no DBOS in this short script)
        const options = {{ runId: 'ticket-9', store, durable: false }};
        await runAgent(agent, 'Refund both', null, false, options);
        const d = await approve('ticket-9', 'call_1', {{ store, by: 'ts-alice', reason: 'ok' }});
        console.log(d.callId, d.allDecided);
        """,
    )
    assert started == ["call_1 false"]

    async def python_side() -> list[tuple[str, str, str | None, str | None, str]]:
        store = RunStateStore(db)
        outcome = await store.decide(
            "ticket-9", None, "reject", reason="too much", decided_by="py-bob"
        )
        assert (outcome.record.call_id, outcome.all_decided) == ("call_2", True)
        return [
            (d.call_id, d.decision, d.decided_by, d.reason, d.tool_name)
            for d in await store.decisions("ticket-9")
        ]

    trail = [
        ("call_1", "approve", "ts-alice", "ok", "refund"),
        ("call_2", "reject", "py-bob", "too much", "refund"),
    ]
    assert asyncio.run(python_side()) == trail
    seen_by_ts = run_node(
        node,
        tmp_path,
        f"""
        import {{ RunStateStore }} from '@timestep-ai/timestep';
        const store = new RunStateStore('{db}');
        for (const d of await store.decisions('ticket-9')) {{
          console.log([d.callId, d.decision, d.decidedBy, d.reason, d.toolName].join(','));
        }}
        """,
    )
    assert seen_by_ts == [",".join(str(v) for v in row) for row in trail]

    # Python's CLI lists the TypeScript-made run and shows its history and both decisions.
    listed = cli("runs", "list", "--db", db)
    runs = listed["runs"] if isinstance(listed, dict) else listed
    [row] = [r for r in runs if r["run_id"] == "ticket-9"]
    assert (row["language"], row["status"], row["agent_name"]) == (
        "typescript",
        "waiting",
        "support",
    )
    shown = cli("runs", "show", "ticket-9", "--db", db)
    assert [(v["version"], v["status"], v["language"]) for v in shown["versions"]] == [
        (1, "waiting", "typescript")
    ]
    assert [(d["call_id"], d["decided_by"]) for d in shown["decisions"]] == [
        ("call_1", "ts-alice"),
        ("call_2", "py-bob"),
    ]
    assert shown["pending_approvals"] == []  # both decided
    assert [s["name"] for s in shown["timeline"] if s["kind"] == "tool"] == ["refund", "refund"]


HITS = [
    Hit("Python", "https://www.python.org/", "The official home of Python."),
    Hit("PyPI", "https://pypi.org/", "The Python Package Index."),
    Hit("Lookalike", "https://notpython.org/x", "Not it."),
    Hit("Docs", "https://docs.python.org/3/", "Documentation   for\nPython."),
]


def _blocks(text: str) -> tuple[str, list[str]]:
    """The header and the results (numbers dropped), sorted."""
    header, *results = text.split("\n\n")
    return header, sorted(block.split(". ", 1)[1] for block in results)


def test_web_search_text_is_identical_in_both_languages(
    tmp_path: Path, node: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_search_server(FakeSearch(hits=list(HITS))) as (server, _fake):
        monkeypatch.setattr(ddg_engine.Duckduckgo, "search_url", f"{server.url}/html/")
        cases: list[tuple[str, Any, str, dict[str, Any]]] = [
            (
                "ollama",
                OllamaSearch(api_key="test-key", host=server.url),
                f"new OllamaSearch({{ apiKey: 'test-key', host: '{server.url}' }})",
                {"search_context_size": "low"},
            ),
            (
                "firecrawl",
                FirecrawlSearch(api_key="test-key", api_url=server.url),
                f"new FirecrawlSearch({{ apiKey: 'test-key', apiUrl: '{server.url}' }})",
                {"allowed_domains": ["python.org"]},
            ),
            (
                "ddgs",
                DdgsSearch(engines="duckduckgo"),
                f"new DdgsSearch({{ host: '{server.url}' }})",
                {},
            ),
            (
                "ollama-bad-key",
                OllamaSearch(api_key="wrong", host=server.url),
                f"new OllamaSearch({{ apiKey: 'wrong', host: '{server.url}' }})",
                {},
            ),
        ]

        async def python_text(backend: Any, options: dict[str, Any]) -> str:
            tool = web_search_tool(backend, **options)
            output = await tool.on_invoke_tool(None, '{"query": "python"}')
            assert isinstance(output, str)
            return output

        for name, backend, ts_backend, options in cases:
            python = asyncio.run(python_text(backend, options))
            ts_options = json.dumps(
                {
                    "searchContextSize": options.get("search_context_size", "medium"),
                    **(
                        {"allowedDomains": options["allowed_domains"]}
                        if "allowed_domains" in options
                        else {}
                    ),
                }
            )
            typescript = run_node(
                node,
                tmp_path,
                f"""
                import {{ DdgsSearch, FirecrawlSearch, OllamaSearch, webSearchTool }}
                  from '@timestep-ai/timestep';
                const tool = webSearchTool({ts_backend}, {ts_options});
                console.log(JSON.stringify(await tool.invoke({{}}, '{{"query": "python"}}')));
                """,
            )
            [ts_text] = [json.loads(line) for line in typescript]
            if name == "ddgs":
                # ddgs re-ranks an engine's hits; the TypeScript backend keeps the page's order.
                assert _blocks(ts_text) == _blocks(python), name
            else:
                assert ts_text.splitlines() == python.splitlines(), name
            assert python.startswith(("Web search results", "web_search failed")), name
