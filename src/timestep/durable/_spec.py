"""What a segment is started with, persisted as JSON in DBOS's workflow inputs.

:class:`SegmentSpec` is compatibility data like the step names in ``_names``: a segment left
PENDING is recovered from its stored JSON, so the field names (pinned by
``tests/durable/test_durable_spec.py``) change only together with ``APPLICATION_VERSION``.

No credential is persisted: :func:`public_target` removes the password from a database URL, and
:func:`resolve_target` puts it back at run time from a URL this process knows (the stores it was
given, ``$TIMESTEP_DB``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL, make_url

from .._errors import ConfigurationError
from ..models import DEFAULT_MAX_TURNS

#: The JSON keys of a persisted spec (see the module docstring).
SPEC_FIELDS = (
    "agent",
    "store",
    "max_turns",
    "stream",
    "input",
    "state",
    "session",
    "model",
    "run_config",
    "context",
)


@dataclass(frozen=True)
class SegmentSpec:
    """How to run one segment: which agent, which store, and what the run started with.

    Exactly one of ``input`` (a run's first segment) and ``state`` (a RunState JSON handed to
    ``run_durable``) may be set; a resumed segment has neither and loads its stored version.
    ``store`` is the store's target without password. ``session`` is ``{"id", "db"}`` of the
    run's session (``db`` without password), ``model``/``run_config``/``context`` the persisted
    pieces of the caller's RunConfig and context.
    """

    agent: str
    store: str
    max_turns: int = DEFAULT_MAX_TURNS
    stream: bool = False
    input: str | list[Any] | None = None
    state: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    model: str | None = None
    run_config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the workflow's inputs (fields that are unset are left out)."""
        data: dict[str, Any] = {
            "agent": self.agent,
            "store": self.store,
            "max_turns": self.max_turns,
            "stream": self.stream,
        }
        for name in SPEC_FIELDS[4:]:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: Any) -> SegmentSpec:
        """Rebuild a spec from :meth:`to_json` (a ``ConfigurationError`` names a bad field)."""
        if not isinstance(data, dict):
            raise ConfigurationError(f"a segment spec is a JSON object, got {type(data).__name__}")
        agent, store = data.get("agent"), data.get("store")
        if not isinstance(agent, str) or not isinstance(store, str):
            raise ConfigurationError("a segment spec needs 'agent' and 'store' strings")
        max_turns = data.get("max_turns", DEFAULT_MAX_TURNS)
        if not isinstance(max_turns, int) or isinstance(max_turns, bool):
            raise ConfigurationError(f"segment spec 'max_turns' is not an integer: {max_turns!r}")
        for name in ("state", "session", "run_config", "context"):
            if data.get(name) is not None and not isinstance(data[name], dict):
                raise ConfigurationError(f"segment spec {name!r} is not a JSON object")
        model = data.get("model")
        return cls(
            agent=agent,
            store=store,
            max_turns=max_turns,
            stream=bool(data.get("stream", False)),
            input=data.get("input"),
            state=data.get("state"),
            session=data.get("session"),
            model=model if isinstance(model, str) else None,
            run_config=data.get("run_config"),
            context=data.get("context"),
        )


def _url(target: str) -> URL | None:
    if "://" not in target:
        return None  # a file path
    try:
        return make_url(target)
    except Exception:
        return None


def public_target(target: str) -> str:
    """``target`` without its password (unchanged when it has none, e.g. a file or SQLite)."""
    url = _url(target)
    if url is None or url.password is None:
        return target
    return url._replace(password=None).render_as_string(hide_password=False)


def _same_place(a: URL, b: URL) -> bool:
    return (a.get_backend_name(), a.username, a.host, a.port, a.database, dict(a.query)) == (
        b.get_backend_name(),
        b.username,
        b.host,
        b.port,
        b.database,
        dict(b.query),
    )


def resolve_target(persisted: str, known: Iterable[str]) -> str:
    """The full target for a persisted (password-free) one.

    The first of ``known`` and then ``$TIMESTEP_DB`` that names the same database (backend,
    user, host, port, database) supplies the password; without a match ``persisted`` is used as
    is (the driver may still find a password in ``PGPASSWORD`` or ``~/.pgpass``).
    """
    wanted = _url(persisted)
    if wanted is None or wanted.password is not None:
        return persisted
    candidates = list(known)
    env = os.environ.get("TIMESTEP_DB")
    if env:
        candidates.append(env)
    for candidate in candidates:
        url = _url(candidate)
        if url is not None and url.password is not None and _same_place(url, wanted):
            return candidate
    return persisted
