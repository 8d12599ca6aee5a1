"""The Python SDK's approval scopes and call fingerprints (its ``context.tool_invocations`` ledger).

openai-agents >= 0.15 ignores a per-call approval without a ledger entry, so a translation into
Python rebuilds the entries with the SDK's own scope function and the same hashing.
Version-independent: every schema pair into Python uses these.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from agents._tool_invocation import tool_invocation_approval_scope

from ..._errors import CorruptStateError


def python_scope(name: str, role: str | None = None) -> str:
    """Python's approval scope of a bare function tool (or of a handoff, ``role="handoff"``)."""
    scope = tool_invocation_approval_scope(
        {"type": "function_call", "name": name, "call_id": "scope", "arguments": "{}"},
        tool_lookup_key=("bare", name),
        invocation_role=role,
    )
    if scope is None:
        raise CorruptStateError(f"cannot compute the approval scope of tool {name!r}")
    return scope[1]


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"Invalid JSON constant: {constant}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=4096)
def python_fingerprint(scope: str, arguments: str) -> str:
    """``agents._tool_invocation``'s fingerprint of a direct ``function_call`` (same hashing).

    The SDK hashes ``{"approval_scope", "arguments" (parsed JSON, else the raw text), "type"}``
    with sorted keys; tests check this equals ``tool_invocation_identity_and_scope``.
    """
    value: Any
    try:
        value = _DECODER.decode(arguments)
    except ValueError:
        value = arguments
    payload = {"approval_scope": scope, "arguments": value, "type": "function_call"}
    return hashlib.sha256(_ENCODER.encode(payload).encode("utf-8")).hexdigest()
