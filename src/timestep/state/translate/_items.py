"""Item converters shared by every schema-version pair: model-protocol items and usage.

A RunState's items (messages, function calls and their outputs, reasoning) and its usage records
have the same shape in every schema version of a language; only the RunState around them changes.
A translation module (``py121_js122``, ...) makes one ``ItemsToJs`` / ``ItemsToPy`` with its
version labels (they name the versions in ``UnsupportedStateFeatureError`` messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._errors import CorruptStateError, UnsupportedStateFeatureError

Json = dict[str, Any]


def require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    """``mapping[key]``, or ``CorruptStateError`` naming the missing field."""
    try:
        return mapping[key]
    except KeyError:
        raise CorruptStateError(f"RunState {where} has no {key!r} field") from None


class _Converter:
    def __init__(self, source: str, target: str) -> None:
        self.source = source
        self.target = target

    def unsupported(self, feature: str, detail: str = "") -> UnsupportedStateFeatureError:
        """The error for a feature this translation does not cover."""
        return UnsupportedStateFeatureError(
            feature, source=self.source, target=self.target, detail=detail
        )


class ItemsToJs(_Converter):
    """Python (snake_case) items to the JS SDK's (camelCase)."""

    def text_output(self, output: Any) -> Json:
        if isinstance(output, str):
            return {"type": "text", "text": output}
        raise self.unsupported("function_call_output.output", "only text tool outputs")

    def raw(self, raw: Any, names: Mapping[str, str]) -> Json:
        if not isinstance(raw, dict):
            raise CorruptStateError("RunState item is not an object")
        kind = raw.get("type")
        if kind == "function_call":
            if raw.get("namespace"):
                raise self.unsupported("namespaced function tools")
            if raw.get("caller") not in (None, {"type": "direct"}):
                raise self.unsupported("programmatic tool calling")
            out: Json = {"type": "function_call"}
            if raw.get("id"):
                out["id"] = raw["id"]
            out.update(
                callId=require(raw, "call_id", "function_call"),
                name=require(raw, "name", "function_call"),
                status=raw.get("status") or "completed",
                arguments=require(raw, "arguments", "function_call"),
            )
            return out
        if kind == "function_call_output":
            call_id = require(raw, "call_id", "function_call_output")
            if call_id not in names:
                raise CorruptStateError(
                    f"tool output {call_id!r} has no matching call in the state"
                )
            return {
                "type": "function_call_result",
                "name": names[call_id],
                "callId": call_id,
                "status": raw.get("status") or "completed",
                "output": self.text_output(raw.get("output")),
            }
        if kind == "message" or (kind is None and "role" in raw):
            return self.message(raw)
        if kind == "reasoning":
            return self.reasoning(raw)
        raise self.unsupported(f"item type {kind!r}")

    def message(self, raw: Mapping[str, Any]) -> Json:
        role = raw.get("role")
        content = raw.get("content")
        if role in ("user", "system", "developer"):
            if isinstance(content, str):
                out: Json = {"type": "message", "role": role, "content": content}
                return out
            parts: list[Json] = []
            for part in content or []:
                if isinstance(part, dict) and part.get("type") == "input_text":
                    parts.append({"type": "input_text", "text": part.get("text", "")})
                else:
                    raise self.unsupported("non-text input message content")
            return {"type": "message", "role": role, "content": parts}
        if role != "assistant":
            raise self.unsupported(f"message role {role!r}")
        js_parts: list[Json] = []
        if isinstance(content, str):
            js_parts.append({"type": "output_text", "text": content})
        else:
            for part in content or []:
                if not isinstance(part, dict):
                    raise CorruptStateError("assistant message content part is not an object")
                if part.get("type") == "output_text":
                    text_part: Json = {"type": "output_text", "text": part.get("text", "")}
                    if part.get("annotations"):
                        text_part["providerData"] = {"annotations": part["annotations"]}
                    js_parts.append(text_part)
                elif part.get("type") == "refusal":
                    js_parts.append({"type": "refusal", "refusal": part.get("refusal", "")})
                else:
                    raise self.unsupported(f"assistant content part {part.get('type')!r}")
        out = {"type": "message", "role": "assistant", "status": raw.get("status") or "completed"}
        if raw.get("id"):
            out = {"id": raw["id"], **out}
        out["content"] = js_parts
        return out

    def reasoning(self, raw: Mapping[str, Any]) -> Json:
        out: Json = {"type": "reasoning"}
        if raw.get("id"):
            out["id"] = raw["id"]
        out["content"] = [
            {"type": "input_text", "text": part.get("text", "")}
            for part in raw.get("summary") or []
            if isinstance(part, dict)
        ]
        raw_content = [
            {"type": "reasoning_text", "text": part.get("text", "")}
            for part in raw.get("content") or []
            if isinstance(part, dict)
        ]
        if raw_content:
            out["rawContent"] = raw_content
        if raw.get("encrypted_content"):
            out["providerData"] = {"encryptedContent": raw["encrypted_content"]}
        return out

    def input(self, value: Any, names: Mapping[str, str]) -> Any:
        if isinstance(value, str):
            return value
        return [self.raw(item, names) for item in value or []]


class ItemsToPy(_Converter):
    """JS SDK (camelCase) items to Python's (snake_case)."""

    def raw(self, raw: Any) -> Json:
        if not isinstance(raw, dict):
            raise CorruptStateError("RunState item is not an object")
        kind = raw.get("type")
        if kind == "function_call":
            if raw.get("namespace"):
                raise self.unsupported("namespaced function tools")
            caller = raw.get("caller")
            if caller not in (None, {"type": "direct"}):
                raise self.unsupported("programmatic tool calling")
            out: Json = {
                "arguments": require(raw, "arguments", "function_call"),
                "call_id": require(raw, "callId", "function_call"),
                "name": require(raw, "name", "function_call"),
                "type": "function_call",
            }
            if raw.get("id"):
                out["id"] = raw["id"]
            if raw.get("status"):
                out["status"] = raw["status"]
            return out
        if kind == "function_call_result":
            output = raw.get("output")
            if isinstance(output, str):
                text = output
            elif isinstance(output, dict) and output.get("type") == "text":
                text = str(output.get("text", ""))
            else:
                raise self.unsupported("function_call_result.output", "only text tool outputs")
            return {
                "call_id": require(raw, "callId", "function_call_result"),
                "output": text,
                "type": "function_call_output",
            }
        if kind == "message" or (kind is None and "role" in raw):
            return self.message(raw)
        if kind == "reasoning":
            out = {"id": raw.get("id") or "", "summary": [], "type": "reasoning"}
            out["summary"] = [
                {"text": part.get("text", ""), "type": "summary_text"}
                for part in raw.get("content") or []
                if isinstance(part, dict)
            ]
            raw_content = raw.get("rawContent") or []
            if raw_content:
                out["content"] = [
                    {"text": part.get("text", ""), "type": "reasoning_text"}
                    for part in raw_content
                    if isinstance(part, dict)
                ]
            provider = raw.get("providerData")
            if isinstance(provider, dict) and provider.get("encryptedContent"):
                out["encrypted_content"] = provider["encryptedContent"]
            return out
        raise self.unsupported(f"item type {kind!r}")

    def message(self, raw: Mapping[str, Any]) -> Json:
        role = raw.get("role")
        content = raw.get("content")
        if role in ("user", "system", "developer"):
            if isinstance(content, str):
                return {"content": content, "role": role}
            parts: list[Json] = []
            for part in content or []:
                if isinstance(part, dict) and part.get("type") == "input_text":
                    parts.append({"text": part.get("text", ""), "type": "input_text"})
                else:
                    raise self.unsupported("non-text input message content")
            return {"content": parts, "role": role}
        if role != "assistant":
            raise self.unsupported(f"message role {role!r}")
        py_parts: list[Json] = []
        for part in content or []:
            if not isinstance(part, dict):
                raise CorruptStateError("assistant message content part is not an object")
            if part.get("type") == "output_text":
                provider = part.get("providerData")
                annotations = provider.get("annotations", []) if isinstance(provider, dict) else []
                py_parts.append(
                    {
                        "annotations": annotations,
                        "text": part.get("text", ""),
                        "type": "output_text",
                        "logprobs": [],
                    }
                )
            elif part.get("type") == "refusal":
                py_parts.append({"refusal": part.get("refusal", ""), "type": "refusal"})
            else:
                raise self.unsupported(f"assistant content part {part.get('type')!r}")
        return {
            "id": raw.get("id") or "msg_translated",
            "content": py_parts,
            "role": "assistant",
            "status": raw.get("status") or "completed",
            "type": "message",
        }

    def input(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return [self.raw(item) for item in value or []]


# usage


def _usage_details_to_js(details: Any) -> list[Json]:
    out: list[Json] = []
    for entry in details or []:
        if not isinstance(entry, dict):
            continue
        numbers = {
            key: value
            for key, value in entry.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and value != 0
        }
        if numbers:
            out.append(numbers)
    return out


def usage_to_js(usage: Mapping[str, Any]) -> Json:
    out: Json = {
        "requests": usage.get("requests", 0),
        "inputTokens": usage.get("input_tokens", 0),
        "outputTokens": usage.get("output_tokens", 0),
        "totalTokens": usage.get("total_tokens", 0),
        "inputTokensDetails": _usage_details_to_js(usage.get("input_tokens_details")),
        "outputTokensDetails": _usage_details_to_js(usage.get("output_tokens_details")),
    }
    entries = usage.get("request_usage_entries") or []
    if entries:
        out["requestUsageEntries"] = [
            {
                "inputTokens": entry.get("input_tokens", 0),
                "outputTokens": entry.get("output_tokens", 0),
                "totalTokens": entry.get("total_tokens", 0),
                "inputTokensDetails": _merge_details(entry.get("input_tokens_details")),
                "outputTokensDetails": _merge_details(entry.get("output_tokens_details")),
            }
            for entry in entries
        ]
    return out


def _merge_details(details: Any) -> Json:
    merged: Json = {}
    for entry in _usage_details_to_js(details if isinstance(details, list) else [details]):
        merged.update(entry)
    return merged


def _sum_details(details: Any, fields: tuple[str, ...]) -> Json:
    totals: Json = dict.fromkeys(fields, 0)
    items = details if isinstance(details, list) else [details] if details else []
    for entry in items:
        if isinstance(entry, dict):
            for key, value in entry.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
    return totals


_PY_INPUT_DETAILS = ("cache_write_tokens", "cached_tokens")
_PY_OUTPUT_DETAILS = ("reasoning_tokens",)


def _input_details_to_py(details: Any) -> Json:
    totals = _sum_details(details, _PY_INPUT_DETAILS)
    totals.setdefault("cache_write_tokens_details", None)
    return totals


def usage_to_py(usage: Mapping[str, Any]) -> Json:
    return {
        "requests": usage.get("requests", 0),
        "input_tokens": usage.get("inputTokens", 0),
        "input_tokens_details": [_input_details_to_py(usage.get("inputTokensDetails"))],
        "output_tokens": usage.get("outputTokens", 0),
        "output_tokens_details": [
            _sum_details(usage.get("outputTokensDetails"), _PY_OUTPUT_DETAILS)
        ],
        "total_tokens": usage.get("totalTokens", 0),
        "request_usage_entries": [
            {
                "input_tokens": entry.get("inputTokens", 0),
                "output_tokens": entry.get("outputTokens", 0),
                "total_tokens": entry.get("totalTokens", 0),
                "input_tokens_details": _input_details_to_py(entry.get("inputTokensDetails")),
                "output_tokens_details": _sum_details(
                    entry.get("outputTokensDetails"), _PY_OUTPUT_DETAILS
                ),
            }
            for entry in usage.get("requestUsageEntries") or []
        ],
    }
