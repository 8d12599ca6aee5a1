"""The TypeScript store suites that need a Postgres server run here, on the session's server.

``npm test`` runs them without one (they skip their Postgres cases without
``TIMESTEP_TEST_POSTGRES_URL``); this gives them the throwaway server every Postgres test uses, so
the one-statement writes, the run filters and the run history are checked on Postgres in CI too.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from harness.node import TS, built_node

SUITES = ["pgOneStatement", "runFilters", "history", "pgPool"]


@pytest.mark.parametrize("suite", SUITES)
def test_typescript_store_suite_on_postgres(postgres_url: str, suite: str) -> None:
    compiled = TS / "dist-test" / "test" / f"{suite}.test.js"
    node = built_node(compiled)
    env = {**os.environ, "TIMESTEP_TEST_POSTGRES_URL": postgres_url}
    done = subprocess.run(
        [node, "--test", str(compiled)],
        cwd=TS,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    counts = dict(re.findall(r"^# (tests|pass|fail|skipped) (\d+)$", done.stdout, re.MULTILINE))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert counts.get("fail") == "0" and counts.get("skipped") == "0", counts
    assert "# SKIP" not in done.stdout, "a Postgres case skipped with a server given"
    assert int(counts.get("pass", "0")) > 0, counts
