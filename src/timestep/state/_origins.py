"""Remembers which stored version a RunState (or a result resumed from it) is based on.

``RunStateStore.save`` uses this to detect stale saves without the caller passing a version.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """A stored version an in-memory object was loaded from or derived from."""

    store_url: str
    run_id: str
    version: int


_origins: dict[int, Origin] = {}


def remember(obj: object, origin: Origin) -> None:
    """Record that ``obj`` is based on ``origin`` (forgotten when ``obj`` is collected)."""
    key = id(obj)
    if key not in _origins:
        weakref.finalize(obj, _origins.pop, key, None)
    _origins[key] = origin


def origin_of(obj: object) -> Origin | None:
    """The stored version ``obj`` is based on, if known."""
    return _origins.get(id(obj))
