"""Run-list pages and the change marker, side by side in both languages on one store: the same
``limit``/``offset`` give the same runs in Python and TypeScript, and a write by either language
moves the change marker the other reads (the inbox's live poll sees TypeScript's writes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agents import Runner

from harness.node import built_package_node, run_node
from harness.refund_agent import build_agent, start_model
from timestep import RunStateStore


@pytest.fixture(scope="module")
def node() -> str:
    return built_package_node()


async def _python_runs(db: str, ids: list[str]) -> None:
    store = RunStateStore(db)
    for run_id in ids:
        result = await Runner.run(build_agent(start_model()), "Refund order 42")
        await store.save(result, run_id=run_id)


def _pages(db: str) -> list[list[str]]:
    async def read() -> list[list[str]]:
        store = RunStateStore(db)
        pages = []
        for limit, offset in ((2, 0), (2, 2), (3, 4), (10, 1)):
            page = await store.list_runs(limit=limit, offset=offset)
            pages.append([run.run_id for run in page])
        waiting = await store.list_runs(status="waiting", limit=2, offset=1)
        return [*pages, [run.run_id for run in waiting]]

    return asyncio.run(read())


TS_PAGES = """
    const pages = [];
    for (const [limit, offset] of [[2, 0], [2, 2], [3, 4], [10, 1]]) {
      pages.push((await store.listRuns({ limit, offset })).map((r) => r.runId));
    }
    const waiting = await store.listRuns({ status: 'waiting', limit: 2, offset: 1 });
    pages.push(waiting.map((r) => r.runId));
    console.log(JSON.stringify(pages));
"""


def test_pages_and_change_marker_agree_across_languages(tmp_path: Path, node: str) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    asyncio.run(_python_runs(db, ["py-1", "py-2", "py-3"]))

    async def marker() -> object:
        return await RunStateStore(db).change_marker()

    before = asyncio.run(marker())
    out = run_node(
        node,
        tmp_path,
        f"""
        import {{ Agent, tool, setTracingDisabled }} from '@openai/agents';
        import {{ ScriptedModel, functionCall }} from '@openai/agents-core/testing';
        import {{ z }} from 'zod';
        import {{ RunStateStore, runAgent }} from '@timestep-ai/timestep';
        setTracingDisabled(true);
        const refund = tool({{
          name: 'refund', description: 'Refund an order.',
          parameters: z.object({{ order_id: z.string(), amount: z.number().int() }}),
          needsApproval: true,
          execute: async () => 'done',
        }});
        const store = new RunStateStore('{db}');
        const seen = await store.changeMarker();
        for (const runId of ['ts-1', 'ts-2']) {{
          const model = new ScriptedModel([[functionCall('refund', {{ order_id: '1', amount: 1 }},
            {{ callId: 'call_1' }})]]);
          const agent = new Agent({{ name: 'support', model, tools: [refund] }});
          await runAgent(agent, 'Refund', null, false, {{ runId, store, durable: false }});
        }}
        await store.setStatus('py-2', 'done');
        console.log(JSON.stringify(seen));
        console.log(JSON.stringify(await store.changeMarker()));
        {TS_PAGES}
        """,
    )
    ts_before, ts_after, ts_pages = out[-3], out[-2], out[-1]
    assert ts_before == str(before)  # both languages read the same counter
    after = asyncio.run(marker())
    assert after != before  # TypeScript's writes moved the marker Python polls
    assert ts_after == str(after)
    everything = ["py-2", "ts-2", "ts-1", "py-3", "py-1"]
    expected = [everything[0:2], everything[2:4], everything[4:], everything[1:], ["ts-1", "py-3"]]
    assert _pages(db) == expected
    assert ts_pages == str(expected).replace("'", '"').replace(", ", ",")

    asyncio.run(RunStateStore(db).delete("py-1"))  # a Python write moves TypeScript's marker
    again = run_node(
        node,
        tmp_path,
        f"""
        import {{ RunStateStore }} from '@timestep-ai/timestep';
        console.log(JSON.stringify(await new RunStateStore('{db}').changeMarker()));
        """,
    )
    assert again[-1] not in (ts_after, ts_before)
