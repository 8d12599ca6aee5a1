"""TS durable runs on a Postgres URL with a password: they run, recover, persist no password."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from test_durable_credentials import _all_text, secret_url
from test_durable_ts import Driver, key, node
from test_durable_ts_control import Driver as ControlDriver

__all__ = ["node", "secret_url"]  # fixtures used by the test below


def test_ts_run_on_a_password_url_recovers_and_persists_no_password(
    node: str, secret_url: str, tmp_path: Path
) -> None:
    no_password = make_url(secret_url).set(drivername="postgresql", password="")
    with pytest.raises(psycopg.OperationalError, match="password"):  # the server asks for it
        psycopg.connect(no_password.render_as_string(hide_password=False)).close()
    driver = Driver(node, secret_url, tmp_path / "calls.log", tmp_path / "unused.pglite")
    code, _ = driver.run("start", "secret-ts", crash="tool")
    assert code == -9
    # a new process recovers the segment from its persisted (password-free) store URL
    code, facts = driver.run("recover", "secret-ts")
    assert code == 0, facts
    assert facts["status"] == "done"
    assert driver.calls()[-2:] == [f"tool charge {key('secret-ts')}", "model 1"]
    text = _all_text(secret_url)
    assert any(line.startswith("dbos.workflow_status") and "secret-ts@0" in line for line in text)
    assert any(line.startswith("public.timestep_runs") for line in text)
    assert [line[:200] for line in text if "SECRET" in line] == []
    # a control call in another process (no DBOS launched there) reads the steps with the password
    control = ControlDriver(node, secret_url, tmp_path / "unused.pglite")
    outcome = control.run("steps", "secret-ts")
    assert "steps" in outcome, outcome
    steps = outcome["steps"]
    assert [step["name"] for step in steps][:2] == [
        "timestep.model.get_response",
        "timestep.tool:charge",
    ]
