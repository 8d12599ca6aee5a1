"""A crash-safe long run: kill the process mid-run, a worker finishes it, nothing is paid twice.

``python crash_safe.py run`` pays three invoices, one tool call per model turn, and (for the demo)
dies right after the second payment, before DBOS could checkpoint that tool call.
``python crash_safe.py recover`` starts a worker: DBOS recovers the pending segment, replays the
recorded steps from their checkpoints and runs the rest. The in-flight tool runs again, with the
same idempotency key, so the payment service ignores the repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

from agents import Agent, Model, function_tool
from agents.tool_context import ToolContext

from timestep import RunNotFoundError, RunStateStore, run_agent
from timestep.durable import idempotency_key, worker

RUN_ID = "month-end"
DB = "sqlite:///timestep.db"
PAYMENTS = Path("payments.sqlite")


# --8<-- [start:payments]
class Payments:
    """Stands in for a payment API that honours idempotency keys (as Stripe's does)."""

    def __init__(self, path: Path = PAYMENTS) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS charges (key TEXT PRIMARY KEY, invoice TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS attempts (key TEXT, invoice TEXT)")

    def charge(self, key: str, invoice: str) -> bool:
        """Charge once per key; False when this key was already charged."""
        self.db.execute("INSERT INTO attempts VALUES (?, ?)", (key, invoice))
        added = self.db.execute("INSERT OR IGNORE INTO charges VALUES (?, ?)", (key, invoice))
        return added.rowcount == 1


@function_tool
def pay_invoice(ctx: ToolContext[Any], invoice: str) -> str:
    """Pay an invoice."""
    key = idempotency_key(ctx)  # the same on every attempt of this tool call
    charged = Payments().charge(key, invoice)
    simulate_crash_once(invoice)
    return f"paid {invoice}" if charged else f"{invoice} was already paid"


# --8<-- [end:payments]


def simulate_crash_once(invoice: str) -> None:
    """For the demo: SIGKILL this process after paying A-2, the first time only."""
    marker = Path("crashed-once")
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


async def run(model: str | Model, db: str) -> None:
    prompt = "Pay invoices A-1, A-2 and A-3."
    await run_agent(build_agent(model), prompt, run_id=RUN_ID, store=RunStateStore(db))


async def recover(model: str | Model, db: str) -> None:
    store = RunStateStore(db)
    # A worker recovers the segments its previous process (same executor id) left pending.
    task = asyncio.create_task(worker([build_agent(model)], store=store))
    while True:
        with contextlib.suppress(RunNotFoundError):
            if (await store.get(RUN_ID)).status == "done":
                break
        await asyncio.sleep(0.2)
    task.cancel()
    payments = Payments()
    attempts = payments.db.execute("SELECT invoice, COUNT(*) FROM attempts GROUP BY invoice")
    charges = payments.db.execute("SELECT invoice, COUNT(*) FROM charges GROUP BY invoice")
    print("attempts:", dict(attempts.fetchall()))
    print("charges: ", dict(charges.fetchall()))


async def main(step: str, model: str | Model = "local/qwen2.5-0.5b", db: str = DB) -> None:
    await (run(model, db) if step == "run" else recover(model, db))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["run", "recover"])
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    args = parser.parse_args()
    asyncio.run(main(args.step, args.model))
