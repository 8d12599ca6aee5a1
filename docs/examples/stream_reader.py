"""Follow a streamed durable run's text, live or replayed (docs: Durable execution, Streaming)."""

from __future__ import annotations

from timestep import RunStateStore
from timestep.durable import StreamText, attach_stream


async def follow(run_id: str, store: RunStateStore, cursor: int = 0) -> tuple[str, int]:
    """Print a run's streamed text as it arrives; return the text and the cursor to resume from."""
    text = StreamText()
    async for event in attach_stream(run_id, store=store, after=cursor):
        change = text.add(event)  # None, or TextChange("append" | "retract", text, ...)
        if change is not None and change.kind == "append":
            print(change.text, end="", flush=True)
        cursor = event["id"]  # resume later with after=cursor
    print()
    return text.text, cursor  # exactly the text of the run's final model calls
