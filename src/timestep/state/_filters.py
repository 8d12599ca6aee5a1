"""Which runs a listing keeps: status, agent, last update and run id search, checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .._errors import ConfigurationError
from ._records import RUN_STATUSES, RunStatus, RunSummary

#: ISO-8601 date, optionally with a time (fraction up to 9 digits) and a zone; no zone is UTC.
_MOMENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True)
class RunFilter:
    """The runs a listing or count keeps; every field ``None`` keeps all of them.

    ``updated_since`` is in the store's timestamp form (``2026-12-02T23:10:05.123456Z``), so
    the databases compare it with ``updated_at`` as text and read their index in order.
    """

    status: RunStatus | None = None
    agent: str | None = None
    updated_since: str | None = None
    search: str | None = None

    def matches(self, run: RunSummary) -> bool:
        """Whether ``run`` is kept (the file store's filter; the databases use SQL)."""
        return (
            (self.status is None or run.status == self.status)
            and (self.agent is None or run.agent_name == self.agent)
            and (self.updated_since is None or run.updated_at >= self.updated_since)
            and (self.search is None or self.search.lower() in run.run_id.lower())
        )


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _parsed(text: str) -> datetime | None:
    """The UTC moment ``text`` names (see ``_MOMENT``), or None when it names none."""
    match = _MOMENT.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "").ljust(6, "0")[:6]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= offset if zone[0] == "+" else -offset
    return moment


def store_moment(value: object) -> str:
    """``value`` (text or a ``datetime``) as the store writes timestamps; ``ConfigurationError``
    when it is no moment."""
    if isinstance(value, datetime):
        moment: datetime | None = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = _parsed(value) if isinstance(value, str) else None
    if moment is None:
        raise ConfigurationError(f"updated_since must be an ISO-8601 date or time, got {value!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_filter(
    status: object = None,
    agent: object = None,
    updated_since: object = None,
    search: object = None,
) -> RunFilter:
    """A checked ``RunFilter``; a wrong value is a ``ConfigurationError`` naming it."""
    if status is not None and status not in RUN_STATUSES:
        raise ConfigurationError(f"unknown status {status!r}; use one of {RUN_STATUSES}")
    return RunFilter(
        status=status,
        agent=_text("agent", agent),
        updated_since=None if updated_since is None else store_moment(updated_since),
        search=_text("search", search),
    )
