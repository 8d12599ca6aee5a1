"""Settings read from environment variables, checked where they are read.

The thread and lease settings of durable processes live here too, so
``timestep worker --processes N`` checks them before it starts any child.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal

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


#: A number of seconds as the environment may give it: plain decimal, optionally with an exponent
#: (no ``inf``, ``nan``, hex or underscores; the TypeScript twin accepts the same texts).
_SPACE = r"[ \t\n\r\f\v]*"
_SECONDS = re.compile(_SPACE + r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?" + _SPACE)

DEFAULT_HEARTBEAT = 5.0
DEFAULT_LEASE = 20.0


def seconds(name: str, default: float) -> float:
    """``$name`` as a finite number of seconds (``default`` when unset or empty)."""
    text = os.environ.get(name)
    if not text:
        return default
    value = float(text) if _SECONDS.fullmatch(text) else math.inf  # 1e400 reads as inf too
    if math.isinf(value):
        # quoted as the TypeScript twin quotes it (not repr), so both give the same message
        raise ConfigurationError(f"${name} must be a number of seconds, got '{text}'")
    return value


def js_number(value: float) -> str:
    """``value`` as JavaScript's ``String(number)`` writes it, for messages both languages share.

    The shortest digits that read back as ``value`` (as ``repr``), laid out by ECMAScript's
    Number::toString: no ``.0`` on whole numbers, an exponent only from 1e21 or below 1e-6.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + f"e{'+' if e > 0 else '-'}{abs(e)}"
    return ("-" if value < 0 else "") + text


@dataclass(frozen=True)
class LeaseSettings:
    """How often a durable process renews its lease and how long the lease lasts (seconds)."""

    heartbeat: float = DEFAULT_HEARTBEAT
    lease: float = DEFAULT_LEASE

    def __post_init__(self) -> None:
        if not self.heartbeat > 0:
            raise ConfigurationError(
                f"the executor heartbeat must be positive, got {js_number(self.heartbeat)}"
            )
        if not self.lease >= 2 * self.heartbeat:
            raise ConfigurationError(
                f"the executor lease ({js_number(self.lease)} s) must be at least twice the "
                f"heartbeat ({js_number(self.heartbeat)} s), so one late heartbeat does not look "
                "like a dead process"
            )

    @classmethod
    def resolve(cls, heartbeat: float | None = None, lease: float | None = None) -> LeaseSettings:
        """Explicit values, else ``$TIMESTEP_EXECUTOR_HEARTBEAT`` / ``_LEASE``, else defaults."""
        return cls(
            heartbeat=heartbeat
            if heartbeat is not None
            else seconds("TIMESTEP_EXECUTOR_HEARTBEAT", DEFAULT_HEARTBEAT),
            lease=lease if lease is not None else seconds("TIMESTEP_EXECUTOR_LEASE", DEFAULT_LEASE),
        )

    @property
    def bound(self) -> float:
        """Seconds within which a dead executor's segments are back on the queue."""
        return self.lease + self.heartbeat
