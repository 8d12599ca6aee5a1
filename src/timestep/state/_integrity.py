"""Checksums of stored state bodies, so corruption that still parses is caught on load.

A database row keeps the SHA-256 of its ``state_json`` text exactly as written. A state file keeps
each version's state as a JSON value (which other writers re-serialise), so its checksum covers a
canonical form: keys sorted, ASCII escapes, integral floats written as integers. Versions written
before checksums existed (``None``) are read without a check.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from .._errors import CorruptStateError


def body_checksum(body: str) -> str:
    """SHA-256 (hex) of a state body's UTF-8 text."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def value_checksum(value: Any) -> str:
    """SHA-256 (hex) of a JSON value's canonical text (stable across JSON writers)."""
    try:
        text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))
    except (RecursionError, ValueError, TypeError) as error:
        raise CorruptStateError(f"a stored state cannot be checksummed: {error}") from None
    return body_checksum(text)


def check(actual: str, expected: object, where: str) -> None:
    """Raise ``CorruptStateError`` unless ``expected`` is absent or equals ``actual``."""
    if expected is None:
        return
    if expected != actual:
        raise CorruptStateError(
            f"{where}: the stored state does not match its checksum (sha256 {actual[:12]}..., "
            f"recorded {str(expected)[:12]}...): it was changed outside timestep or damaged"
        )
