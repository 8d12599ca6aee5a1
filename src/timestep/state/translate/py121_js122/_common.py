"""Labels, item converters and helpers of both directions of the 1.21 <-> 1.22 translation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...._errors import CorruptStateError, UnsupportedStateFeatureError
from .._items import ItemsToJs, ItemsToPy, Json

PYTHON_SCHEMA = "1.21"
JS_SCHEMA = "1.22"
PY = f"Python RunState {PYTHON_SCHEMA}"
JS = f"JS RunState {JS_SCHEMA}"
ITEMS_TO_JS = ItemsToJs(PY, JS)
ITEMS_TO_PY = ItemsToPy(JS, PY)

# Run items whose only fields are the raw item and the owning agent.
PLAIN_ITEMS = frozenset(
    {"tool_call_item", "message_output_item", "handoff_call_item", "reasoning_item"}
)


def unsupported_to_js(feature: str, detail: str = "") -> UnsupportedStateFeatureError:
    return UnsupportedStateFeatureError(feature, source=PY, target=JS, detail=detail)


def unsupported_to_py(feature: str, detail: str = "") -> UnsupportedStateFeatureError:
    return UnsupportedStateFeatureError(feature, source=JS, target=PY, detail=detail)


def agent_ref(ref: Any, where: str) -> Json:
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        raise CorruptStateError(f"RunState {where} is not an agent reference")
    out: Json = {"name": ref["name"]}
    if isinstance(ref.get("identity"), str):
        out["identity"] = ref["identity"]
    return out


def agent_key(ref: Mapping[str, Any]) -> str:
    identity = ref.get("identity")
    return identity if isinstance(identity, str) else str(ref["name"])


def require_empty(state: Mapping[str, Any], keys: tuple[str, ...], to_js: bool) -> None:
    for key in keys:
        value = state.get(key)
        if value not in (None, [], {}, False):
            make = unsupported_to_js if to_js else unsupported_to_py
            raise make(key, "only empty values are supported")


def parse_bare_key(state_key: str) -> str:
    try:
        parts = json.loads(state_key)
    except ValueError:
        parts = None
    if (
        isinstance(parts, list)
        and len(parts) == 2
        and parts[0] == "bare"
        and isinstance(parts[1], str)
        and parts[1]
    ):
        return parts[1]
    raise unsupported_to_py("functionToolStateKey", f"only bare top-level tools, got {state_key}")
