"""A crash-safe long run: kill the process mid-run, a worker finishes it, nothing is paid twice.

``python crash_safe.py run`` pays three invoices, one tool call per model turn, and (for the demo)
dies right after the second payment, before DBOS could checkpoint that tool call.
``python crash_safe.py recover`` starts a worker: DBOS recovers the pending segment, replays the
recorded steps from their checkpoints and runs the rest. The in-flight tool runs again, with the
same idempotency key, so the payment service ignores the repeat.

Each ``run`` is a new run (``--run-id`` names it); ``recover`` finishes the newest running one
(or ``--run-id``). ``--model`` defaults to the bundled local model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from agents import Agent, Model, function_tool
from agents.tool_context import ToolContext

from timestep import RunNotFoundError, RunStateStore, run_agent
from timestep.durable import idempotency_key, worker

DB = "sqlite:///timestep.db"
PAYMENTS = Path("payments.sqlite")


# --8<-- [start:payments]
class Payments:
    """Stands in for a payment API that honours idempotency keys (as Stripe's does)."""

    def __init__(self, path: Path = PAYMENTS) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS charges (key TEXT PRIMARY KEY, invoice TEXT, batch TEXT)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS attempts (key TEXT, invoice TEXT, batch TEXT)")

    def charge(self, key: str, invoice: str, batch: str) -> bool:
        """Charge once per key; False when this key was already charged."""
        self.db.execute("INSERT INTO attempts VALUES (?, ?, ?)", (key, invoice, batch))
        added = self.db.execute(
            "INSERT OR IGNORE INTO charges VALUES (?, ?, ?)", (key, invoice, batch)
        )
        return added.rowcount == 1


@function_tool
def pay_invoice(ctx: ToolContext[dict[str, str]], invoice: str) -> str:
    """Pay an invoice."""
    key = idempotency_key(ctx)  # the same on every attempt of this tool call
    charged = Payments().charge(key, invoice, batch=ctx.context["batch"])
    simulate_crash_once(key, invoice)
    return f"paid {invoice}" if charged else f"{invoice} was already paid"


# --8<-- [end:payments]


def simulate_crash_once(key: str, invoice: str) -> None:
    """For the demo: SIGKILL this process after paying A-2, the first time only (per run)."""
    marker = Path(f"crashed-{key[:16]}")
    if invoice == "A-2" and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)


def build_agent(model: str | Model) -> Agent[Any]:
    return Agent(
        name="accounts",
        instructions="Pay each invoice the user lists with pay_invoice, one at a time.",
        model=model,
        tools=[pay_invoice],
    )


async def run(model: str | Model, db: str, run_id: str | None) -> None:
    run_id = run_id or f"month-end-{uuid.uuid4().hex[:6]}"  # a run id is used once
    print(f"run {run_id}", flush=True)
    prompt = "Pay invoices A-1, A-2 and A-3."
    context = {"batch": run_id}  # a JSON object: stored with the run, given back on recovery
    await run_agent(
        build_agent(model), prompt, run_id=run_id, store=RunStateStore(db), context=context
    )


async def recover(model: str | Model, db: str, run_id: str | None) -> None:
    store = RunStateStore(db)
    if run_id is None:  # the newest run still running
        running = await store.list_runs(status="running")
        run_id = max(running, key=lambda run: run.updated_at).run_id
    # A worker recovers the segments of processes that died (here: the killed `run`).
    task = asyncio.create_task(worker([build_agent(model)], store=store))
    while True:
        with contextlib.suppress(RunNotFoundError):
            if (await store.get(run_id)).status == "done":
                break
        await asyncio.sleep(0.2)
    task.cancel()
    payments = Payments().db
    query = "SELECT invoice, COUNT(*) FROM {} WHERE batch = ? GROUP BY invoice"
    print("attempts:", dict(payments.execute(query.format("attempts"), (run_id,)).fetchall()))
    print("charges: ", dict(payments.execute(query.format("charges"), (run_id,)).fetchall()))


async def main(
    step: str,
    model: str | Model = "local/qwen2.5-0.5b",
    db: str = DB,
    run_id: str | None = None,
) -> None:
    await (run(model, db, run_id) if step == "run" else recover(model, db, run_id))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["run", "recover"])
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    parser.add_argument("--db", default=DB, help="store URL")
    parser.add_argument("--run-id", default=None, help="run: default a new one; recover: newest")
    args = parser.parse_args()
    asyncio.run(main(args.step, args.model, args.db, args.run_id))
