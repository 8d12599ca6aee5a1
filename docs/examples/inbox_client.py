"""Decide pending tool calls through the approvals inbox's JSON API.

Start the inbox with ``TIMESTEP_INBOX_TOKEN=... timestep serve`` (a token of at least 16
characters), then run ``python inbox_client.py`` with the same variable set: it approves small
refunds and rejects the others, with a reason.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import httpx

LIMIT = 50  # dollars an automatic reviewer may approve


def main(url: str = "http://127.0.0.1:8765", token: str | None = None) -> None:
    token = token or os.environ["TIMESTEP_INBOX_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as inbox:
        pending = inbox.get("/api/approvals").raise_for_status().json()["approvals"]
        for call in pending:
            arguments = json.loads(call["arguments"])
            run, call_id = quote(call["run_id"], safe=""), quote(call["call_id"], safe="")
            path = f"/api/runs/{run}/approvals/{call_id}"
            if call["tool_name"] == "refund" and arguments["amount"] <= LIMIT:
                body = {"decided_by": "refund-bot"}
                answer = inbox.post(f"{path}/approve", json=body)
            else:
                body = {"decided_by": "refund-bot", "reason": f"refunds over ${LIMIT} need a human"}
                answer = inbox.post(f"{path}/reject", json=body)
            decision = answer.raise_for_status().json()["decision"]
            print(f"{call['run_id']}: {decision['decision']} {call['tool_name']} {arguments}")
        runs = inbox.get("/api/runs", params={"status": "waiting"}).raise_for_status().json()
        print("still waiting:", [run["run_id"] for run in runs["runs"]])


if __name__ == "__main__":
    main()
