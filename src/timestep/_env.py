"""Settings read from environment variables, checked where they are read.

The thread settings of durable processes live here too, so ``timestep worker --processes N``
checks them before it starts any child.
"""

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


#: Threads of DBOS's executor when ``$TIMESTEP_EXECUTOR_THREADS`` does not say (see below).
DEFAULT_EXECUTOR_THREADS = 4


def executor_threads() -> int:
    """Threads of the process's DBOS executor (``$TIMESTEP_EXECUTOR_THREADS``, default 4).

    DBOS runs its system-database calls on this pool, and it is the event loop's default executor
    (``asyncio.to_thread``) outside tool bodies, e.g. for the store's calls that wait for a lock.
    DBOS leaves it unbounded: 1,000 concurrent durable runs then start hundreds of threads that
    queue for 20 database connections and the GIL (bench/README.md).
    """
    return whole_number("TIMESTEP_EXECUTOR_THREADS", DEFAULT_EXECUTOR_THREADS, 1)


def default_tool_threads() -> int:
    """Asyncio's own default executor size, which the stock SDK's sync tools get."""
    return min(32, (os.cpu_count() or 1) + 4)


def tool_threads() -> int:
    """Threads for tool bodies (``$TIMESTEP_TOOL_THREADS``; default as asyncio's, ``_threads``)."""
    return whole_number("TIMESTEP_TOOL_THREADS", default_tool_threads(), 1)
