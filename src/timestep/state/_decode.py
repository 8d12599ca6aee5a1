"""Decode what a store reads back (text, JSON, side columns) into typed values or a typed error.

Every function names *where* the bad value was found (``where``: e.g. ``"run 'r1' version 2"``) so
the ``CorruptStateError`` it raises says which run, version and field to look at.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import CorruptStateError
from ._records import PendingApproval

_PENDING_FIELDS = ("call_id", "tool_name", "arguments", "agent_name")


def text_of(raw: object, where: str) -> str:
    """``raw`` as text: ``str`` as is, UTF-8 ``bytes`` decoded, anything else rejected."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorruptStateError(
                f"{where} is not UTF-8 text (byte {error.start}: {error.reason})"
            ) from None
    raise CorruptStateError(f"{where} is not text but {type(raw).__name__}")


def json_value(raw: object, where: str) -> Any:
    """Parse JSON text (or UTF-8 bytes), naming the position of a syntax error."""
    text = text_of(raw, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptStateError(
            f"{where} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise CorruptStateError(f"{where} is JSON nested too deeply to read") from None


def json_object(raw: object, where: str) -> dict[str, Any]:
    """Parse JSON text that must hold an object."""
    value = json_value(raw, where)
    if not isinstance(value, dict):
        raise CorruptStateError(f"{where} is not a JSON object but {_json_type(value)}")
    return value


def pending_list(value: object, where: str) -> list[PendingApproval]:
    """Pending approvals from their decoded JSON form (a list of four-string objects)."""
    if not isinstance(value, list):
        raise CorruptStateError(f"{where} is not a list but {_json_type(value)}")
    result: list[PendingApproval] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise CorruptStateError(f"{where}[{index}] is not an object but {_json_type(entry)}")
        fields = {}
        for name in _PENDING_FIELDS:
            field = entry.get(name)
            if not isinstance(field, str):
                raise CorruptStateError(f"{where}[{index}] has no text field {name!r}")
            fields[name] = field
        result.append(PendingApproval(**fields))
    return result


def pending_column(raw: object, where: str) -> list[PendingApproval]:
    """Parse a ``pending_approvals`` column (JSON text)."""
    return pending_list(json_value(raw, where), where)


def metadata_column(raw: object, where: str) -> dict[str, Any]:
    """Parse a run's ``metadata`` column (JSON object text, or NULL / empty for none)."""
    if raw is None or raw == "":
        return {}
    return json_object(raw, where)


def merged_metadata(raw: object, new: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """Stored metadata with ``new`` laid over it.

    Unreadable stored metadata is not dropped: its text is kept under ``unreadable_metadata`` so
    later saves still work and nothing that was stored is lost.
    """
    try:
        merged = metadata_column(raw, where)
    except CorruptStateError:
        kept = raw if isinstance(raw, str) else repr(raw)
        merged = {"unreadable_metadata": kept}
    merged.update(new or {})
    return merged


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
