"""The JS SDK's (@openai/agents 0.20) canonical tool-invocation identity, computed in Python.

JS RunState 1.22 binds every per-call approval to a canonical "fingerprint" string of the call
(``context.approvalInvocations``) and records completed calls the same way
(``completedToolInvocations``). A state translated from Python must carry exactly the strings the
JS SDK would compute itself, or JS refuses the state or ignores the decision. This module
reimplements that computation (``getToolInvocationFingerprint`` in agents-core's
``toolInvocation``): a key-sorted JSON of the call's caller, type, tool name and payload, where
JSON numbers inside the arguments are replaced by canonical tokens. The shared vectors pin it:
for every JS vector, the strings computed here equal the ones the JS SDK wrote.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

_TOKEN = "\u0000openai-agents-json:"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class _InvalidJson(ValueError):
    pass


def _reject_constant(constant: str) -> Any:
    raise _InvalidJson(constant)


def _canonical_number(text: str) -> str:
    lower = text.lower()
    mantissa, _, exponent_text = lower.partition("e")
    negative = mantissa.startswith("-")
    unsigned = mantissa[1:] if negative else mantissa
    integer, _, fraction = unsigned.partition(".")
    digits = (integer + fraction).lstrip("0")
    if not digits:
        return "-0" if negative else "0"
    exponent = int(exponent_text or "0") - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return f"{'-' if negative else ''}{stripped}e{exponent}"


def _encode_json_numbers(value: str) -> str:
    out: list[str] = []
    index = 0
    length = len(value)
    while index < length:
        character = value[index]
        if character == '"':
            end = index + 1
            while end < length:
                if value[end] == "\\":
                    end += 2
                    continue
                if value[end] == '"':
                    end += 1
                    break
                end += 1
            token = value[index:end]
            decoded = json.loads(token, parse_constant=_reject_constant)
            if not isinstance(decoded, str):
                raise _InvalidJson(token)
            out.append(
                json.dumps(f"{_TOKEN}string:{decoded}", ensure_ascii=False)
                if decoded.startswith(_TOKEN)
                else token
            )
            index = end
            continue
        if character == "-" or "0" <= character <= "9":
            match = _NUMBER.match(value, index)
            if match is None:
                raise _InvalidJson("Invalid JSON number.")
            out.append(
                json.dumps(
                    f"{_TOKEN}number:{_canonical_number(match.group(0))}", ensure_ascii=False
                )
            )
            index = match.end()
            continue
        out.append(character)
        index += 1
    return "".join(out)


def _number_token(text: str) -> str:
    return f"{_TOKEN}number:{_canonical_number(text)}"


_TOKEN_DECODER = json.JSONDecoder(
    parse_int=_number_token, parse_float=_number_token, parse_constant=_reject_constant
)


def normalize_json_string(value: str) -> dict[str, Any]:
    """The JS ``normalizeJsonString``: parsed JSON with canonical number tokens, else raw."""
    try:
        if "\\u0000" in value or _TOKEN[0] in value:
            # Strings that look like tokens are escaped by the JS scanner: take the slow path.
            parsed = json.loads(_encode_json_numbers(value), parse_constant=_reject_constant)
        else:
            # Same grammar as the JS scanner + JSON.parse, numbers turned into tokens directly.
            parsed = _TOKEN_DECODER.decode(value)
    except (ValueError, TypeError):
        return {"format": "raw", "value": value}
    return {"format": "json", "value": parsed}


_STABLE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def stable_stringify(value: Any) -> str:
    """The JS ``stableStringify``: ``JSON.stringify`` with object keys sorted at every level."""
    return _STABLE.encode(value)


@lru_cache(maxsize=4096)
def function_call_fingerprint(tool_name: str, arguments: str) -> str:
    """Fingerprint of a direct ``function_call`` (a function tool or a handoff) in JS 1.22."""
    return stable_stringify(
        {
            "caller": {"type": "direct"},
            "type": "function_call",
            "toolName": tool_name,
            "payload": normalize_json_string(arguments),
        }
    )


@lru_cache(maxsize=1024)
def bare_state_key(name: str) -> str:
    """JS ``functionToolStateKey`` of a top-level function tool: ``["bare","name"]``."""
    return stable_stringify(["bare", name])


def handoff_tool_name(name: str) -> str:
    """The tool name JS uses to fingerprint a handoff call."""
    return f"handoff:{name}"
