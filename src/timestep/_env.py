"""Settings read from environment variables, checked where they are read."""

from __future__ import annotations

import os

from ._errors import ConfigurationError


def whole_number(name: str, default: int, minimum: int) -> int:
    """``$name`` as a whole number >= ``minimum`` (``default`` when unset or blank).

    Anything else raises ``ConfigurationError`` naming the variable and the value given.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigurationError(f"{name} must be a whole number >= {minimum}, got {raw!r}")
    return value
