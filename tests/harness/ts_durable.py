"""Fixtures and environment of the tests that drive durable TypeScript runs in Node processes.

A pytest plugin (tests/conftest.py): ``store_url`` runs a test on a SQLite store (whose TypeScript
system database is the module's one PGlite directory, ``pglite_dir``, shared to spare its 15-30 s
creation) and on a throwaway Postgres database. A module with its own ``store_url`` keeps it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from timestep.durable import shutdown


@pytest.fixture(scope="module")
def pglite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded system database for the module (each test uses its own store and run ids)."""
    return tmp_path_factory.mktemp("pglite") / "system.dbos.pglite"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        yield str(request.getfixturevalue("postgres_db_url"))
    shutdown()  # the Python side's DBOS, when a test launched it


#: Short executor leases for Node drivers on Postgres: a live TypeScript worker takes over a
#: killed process's segments within lease + heartbeat (2 s) instead of the default 25 s.
LEASE_ENV = {"TIMESTEP_EXECUTOR_HEARTBEAT": "0.5", "TIMESTEP_EXECUTOR_LEASE": "1.5"}


def ts_env(store_url: str, pglite_dir: Path, *drop: str) -> dict[str, str]:
    """This process's environment for a Node driver on ``store_url``: the shared PGlite
    directory on a SQLite store, no ``TIMESTEP_TS_DBOS_URL`` otherwise (nor the ``drop`` names),
    and short executor leases (``LEASE_ENV``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TIMESTEP_TS_DBOS_URL", *drop)}
    env.update(LEASE_ENV)
    if store_url.startswith("sqlite"):
        env["TIMESTEP_TS_DBOS_URL"] = str(pglite_dir)
    return env
