"""Resume a stored run in a new process: ``python resume_run.py STORE RUN_ID DECISION [--stream]``.

Loads the latest state with ``RunStateStore``, approves or rejects the pending refund, resumes with
``run_agent`` (non-durable), saves the result and prints ``{"final_output", "version", "status"}``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from agents import set_tracing_disabled

from harness.refund_agent import build_agent, resume_model
from timestep import RunStateStore, consume_result, run_agent


async def main(target: str, run_id: str, decision: str, stream: bool) -> None:
    agent = build_agent(resume_model())
    store = RunStateStore(target, agent)
    state = await store.load(run_id)
    [pending] = state.get_interruptions()
    if decision == "approve":
        state.approve(pending)
    else:
        state.reject(pending, rejection_message="refund refused by a human")
    result = await consume_result(await run_agent(agent, state, stream=stream))
    stored = await store.save(result, run_id=run_id)
    print(
        json.dumps(
            {
                "final_output": result.final_output,
                "version": stored.version,
                "status": stored.status,
            }
        )
    )


if __name__ == "__main__":
    set_tracing_disabled(True)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], "--stream" in sys.argv[4:]))
