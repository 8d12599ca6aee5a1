"""RunState translation between openai-agents (Python) schema 1.21 and @openai/agents (JS) 1.22.

Tested against openai-agents 0.24.0 and @openai/agents 0.20.0 with the vectors in
``tests/vectors/``. Both directions rebuild the approval and invocation ledgers each SDK checks
(Python ``context.tool_invocations``; JS ``approvalInvocations``, ``completedToolInvocations``
and their evidence), so decisions made in one language are honoured by the other.

Covered: function-tool approvals (one or several, pending or decided: approve, reject with a
message, always-approve, always-reject), handoffs, executed tool calls and their outputs,
assistant messages, reasoning items, usage with details, conversation / previous response ids,
structured (JSON) final outputs, input guardrail results (as records), finished runs.
Everything else raises ``UnsupportedStateFeatureError`` naming the feature: hosted / MCP tools,
computer / shell / apply-patch / custom tools, namespaced tools, agent-as-tool nested runs,
non-text tool outputs, pending session writes, sandboxes, non-mapping contexts, and so on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...._errors import CorruptStateError, UnsupportedStateFeatureError
from .._items import Json
from ._common import ITEMS_TO_JS, ITEMS_TO_PY, JS, JS_SCHEMA, PY, PYTHON_SCHEMA
from ._to_js import ToJs
from ._to_py import ToPy

__all__ = [
    "JS_SCHEMA",
    "PYTHON_SCHEMA",
    "js_items_to_python",
    "js_to_python",
    "python_items_to_js",
    "python_to_js",
]


def _guard(fn: Callable[[Mapping[str, Any]], Json], state: Mapping[str, Any], where: str) -> Json:
    try:
        return fn(state)
    except (UnsupportedStateFeatureError, CorruptStateError):
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise CorruptStateError(f"malformed {where} RunState: {type(exc).__name__}: {exc}") from exc


def python_to_js(state: Mapping[str, Any]) -> Json:
    """Translate a Python 1.21 RunState JSON document to a JS 1.22 one."""
    return _guard(lambda s: ToJs(s).run(), state, PY)


def js_to_python(state: Mapping[str, Any]) -> Json:
    """Translate a JS 1.22 RunState JSON document to a Python 1.21 one."""
    return _guard(lambda s: ToPy(s).run(), state, JS)


def python_items_to_js(items: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Translate conversation items (a session's history) from Python to JS item format.

    A ``function_call_output`` gets its tool ``name`` (JS requires it) from the matching
    ``function_call`` earlier in ``items``.
    """
    names: dict[str, str] = {}
    out: list[Json] = []
    for raw in items:
        if isinstance(raw, dict) and raw.get("type") == "function_call":
            call_id, name = raw.get("call_id"), raw.get("name")
            if isinstance(call_id, str) and isinstance(name, str):
                names.setdefault(call_id, name)
        out.append(ITEMS_TO_JS.raw(raw, names))
    return out


def js_items_to_python(items: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Translate conversation items (a session's history) from JS to Python item format."""
    return [ITEMS_TO_PY.raw(raw) for raw in items]
