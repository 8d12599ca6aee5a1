"""The inbox under awkward input: run ids with '/', corrupt rows, unknown routes, named users,
the sign-in page, and the token's sources and length."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from harness.cli_support import (
    agents_module,
    cli_env,
    finished_run,
    interrupted_run,
    reset_durable,
)
from harness.processes import stop_process
from timestep.server import create_app, csrf_token, openapi_schema
from timestep.state import RunStateStore

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SLASHED = "tenant/ticket-42"
ENCODED = "tenant%2Fticket-42"


@pytest.fixture(autouse=True)
def _durable_shutdown() -> Iterator[None]:
    reset_durable()
    yield
    reset_durable()


@pytest.fixture
def agents(tmp_path: Path) -> Any:
    return agents_module(tmp_path)


@pytest.fixture
async def store(tmp_path: Path, agents: Any) -> Any:
    """``tenant/ticket-42`` and ``ticket-7`` waiting for approval, ``hello`` done."""
    async with RunStateStore(f"sqlite:///{tmp_path / 'inbox.db'}") as store:
        await interrupted_run(store, SLASHED, agents.start())
        await interrupted_run(store, "ticket-7", agents.start())
        await finished_run(store, "hello", agents.chat())
        yield store


@pytest.fixture
def client(store: RunStateStore) -> Iterator[TestClient]:
    app = create_app(store, token=TOKEN, users={"alice": "alice-token-0123456789"})
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _error_schema() -> dict[str, Any]:
    doc = openapi_schema()
    return {"components": doc["components"], **doc["components"]["schemas"]["Error"]}


def _is_documented_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    jsonschema.validate(body, _error_schema())
    assert body["error"] == code, body


def _sql(store: RunStateStore, statement: str, *params: Any) -> None:
    path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)


@pytest.mark.parametrize("written", [ENCODED, SLASHED])
def test_a_run_id_with_a_slash_works_through_every_route(client: TestClient, written: str) -> None:
    listed = client.get("/api/approvals", headers=AUTH).json()["approvals"]
    assert SLASHED in {item["run_id"] for item in listed}
    detail = client.get(f"/api/runs/{written}", headers=AUTH)
    assert detail.status_code == 200, detail.text
    assert detail.json()["run_id"] == SLASHED
    page = client.get(f"/runs/{written}", headers=AUTH)
    assert page.status_code == 200
    assert "<html" in page.text
    approved = client.post(
        f"/api/runs/{written}/approvals/call-refund/approve", headers=AUTH, json={}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["decision"]["run_id"] == SLASHED
    again = client.post(
        f"/api/runs/{written}/approvals/call-refund/reject", headers=AUTH, json={"reason": "no"}
    )
    _is_documented_error(again, 409, "already_decided")


def test_the_page_encodes_run_ids_in_every_url_it_builds() -> None:
    from importlib import resources

    page = resources.files("timestep.server").joinpath("static/index.html").read_text("utf-8")
    assert 'function runUrl(runId) { return "/api/runs/" + encodeURIComponent(runId); }' in page
    assert 'function runPage(runId) { return "/runs/" + encodeURIComponent(runId); }' in page
    assert page.count('"/api/runs/"') == 1  # every API URL of a run goes through runUrl()


async def test_a_corrupt_row_is_listed_as_unreadable_and_the_rest_still_works(
    store: RunStateStore, client: TestClient
) -> None:
    _sql(store, "UPDATE timestep_runs SET metadata = ? WHERE run_id = ?", "{not json", "hello")
    _sql(
        store,
        "UPDATE timestep_runs SET pending_approvals = ? WHERE run_id = ?",
        "\x00garbage",
        "ticket-7",
    )
    runs = client.get("/api/runs", headers=AUTH)
    assert runs.status_code == 200, runs.text
    by_id = {run["run_id"]: run for run in runs.json()["runs"]}
    assert set(by_id) == {SLASHED, "ticket-7", "hello"}
    assert "metadata column is unreadable" in by_id["hello"]["unreadable"]
    assert "pending_approvals column is unreadable" in by_id["ticket-7"]["unreadable"]
    assert by_id[SLASHED]["unreadable"] is None
    schema = openapi_schema()
    ok = schema["paths"]["/api/runs"]["get"]["responses"]["200"]["content"]["application/json"]
    jsonschema.validate(runs.json(), {"components": schema["components"], **ok["schema"]})

    approvals = client.get("/api/approvals", headers=AUTH)
    assert approvals.status_code == 200
    assert [item["run_id"] for item in approvals.json()["approvals"]] == [SLASHED]
    assert client.get(f"/api/runs/{ENCODED}", headers=AUTH).status_code == 200


async def test_a_run_whose_state_cannot_be_read_answers_a_json_error(
    store: RunStateStore, client: TestClient
) -> None:
    _sql(
        store, "UPDATE timestep_run_states SET state_json = ? WHERE run_id = ?", "{broken", "hello"
    )
    broken = client.get("/api/runs/hello", headers=AUTH)
    assert broken.status_code == 500
    jsonschema.validate(broken.json(), _error_schema())
    assert broken.json()["error"] in ("unreadable", "corrupt_state")
    assert "hello" in broken.json()["message"]
    assert client.get("/api/runs", headers=AUTH).status_code == 200
    assert client.get("/api/runs/ticket-7", headers=AUTH).status_code == 200


def test_unknown_routes_and_methods_answer_documented_json(client: TestClient) -> None:
    _is_documented_error(client.get("/api/nothing-here", headers=AUTH), 404, "not_found")
    _is_documented_error(client.get("/api/runs/nope", headers=AUTH), 404, "not_found")
    wrong_method = client.delete("/api/approvals", headers=AUTH)
    _is_documented_error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["allow"]
    bad_limit = client.get("/api/runs", params={"limit": "lots"}, headers=AUTH)
    _is_documented_error(bad_limit, 400, "bad_request")
    for status in ("401", "405", "500"):
        documented = openapi_schema()["paths"]["/api/runs"]["get"]["responses"]
        assert status in documented


def test_an_unexpected_failure_is_a_json_500(tmp_path: Path) -> None:
    class Broken:
        url = "sqlite:///nowhere"

        async def list_runs(self, **_: Any) -> Any:
            raise RuntimeError("disk on fire")

    app = create_app(Broken(), token=TOKEN)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/runs", headers=AUTH)
    _is_documented_error(response, 500, "internal")
    assert "disk on fire" in response.json()["message"]


def test_runs_filters_and_paging(client: TestClient) -> None:
    everything = client.get("/api/runs", headers=AUTH).json()
    assert everything["total"] == 3
    page = client.get("/api/runs", params={"limit": 2, "offset": 0}, headers=AUTH).json()
    rest = client.get("/api/runs", params={"limit": 2, "offset": 2}, headers=AUTH).json()
    assert page["total"] == rest["total"] == 3
    ids = [r["run_id"] for r in page["runs"]] + [r["run_id"] for r in rest["runs"]]
    assert ids == [r["run_id"] for r in everything["runs"]]
    greeters = client.get("/api/runs", params={"agent": "greeter"}, headers=AUTH).json()
    assert [r["run_id"] for r in greeters["runs"]] == ["hello"]
    found = client.get("/api/runs", params={"q": "TICKET"}, headers=AUTH).json()
    assert {r["run_id"] for r in found["runs"]} == {SLASHED, "ticket-7"}


def test_a_named_user_is_recorded_as_the_decider(client: TestClient) -> None:
    alice = {"Authorization": "Bearer alice-token-0123456789"}
    assert client.get("/api/me", headers=alice).json() == {"name": "alice", "named": True}
    response = client.post(
        "/api/runs/ticket-7/approvals/call-refund/approve",
        headers=alice,
        json={"decided_by": "mallory", "reason": "ok"},
    )
    assert response.status_code == 200
    assert response.json()["decision"]["decided_by"] == "alice"
    detail = client.get("/api/runs/ticket-7", headers=AUTH).json()
    assert [(d["decided_by"], d["reason"]) for d in detail["decisions"]] == [("alice", "ok")]


def test_a_browser_without_credentials_gets_the_sign_in_page(client: TestClient) -> None:
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/login?next=%2F"
    deep = client.get(f"/runs/{ENCODED}", follow_redirects=False)
    assert deep.status_code == 303
    assert deep.headers["location"].startswith("/login?next=%2Fruns%2Ftenant")
    form = client.get("/login?next=/runs/ticket-7")
    assert form.status_code == 200
    assert 'name="token"' in form.text and 'value="/runs/ticket-7"' in form.text

    wrong = client.post("/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    evil = client.post(
        "/login",
        data={"token": "alice-token-0123456789", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert evil.status_code == 303
    assert evil.headers["location"] == "/"  # never sent to another site
    signed_in = client.post(
        "/login",
        data={"token": "alice-token-0123456789", "next": "/runs/ticket-7"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/runs/ticket-7"
    page = client.get("/runs/ticket-7")
    assert page.status_code == 200
    assert csrf_token("alice-token-0123456789") in page.text
    cross = client.post("/login", data={"token": TOKEN}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "timestep.cli", "serve", "--port", "0", *args],
        cwd=tmp_path,
        env=env or cli_env(f"sqlite:///{tmp_path / 'x.db'}"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_short_tokens_from_every_source(tmp_path: Path) -> None:
    short = _serve(tmp_path, "--token", "abc")
    assert short.returncode == 1
    assert "--token has 3 characters; use at least 16" in short.stderr
    (tmp_path / "token").write_text("tiny\n")
    from_file = _serve(tmp_path, "--token-file", str(tmp_path / "token"))
    assert from_file.returncode == 1
    assert "has 4 characters" in from_file.stderr
    env = {**cli_env(f"sqlite:///{tmp_path / 'x.db'}"), "TIMESTEP_INBOX_TOKEN": "short"}
    from_env = _serve(tmp_path, env=env)
    assert from_env.returncode == 1
    assert "$TIMESTEP_INBOX_TOKEN has 5 characters" in from_env.stderr
    (tmp_path / "users").write_text("alice:alice-token-0123456789\nbob:short\n")
    users = _serve(tmp_path, "--users-file", str(tmp_path / "users"))
    assert users.returncode == 1
    assert "the token of 'bob' has 5 characters" in users.stderr
    assert all(p.stderr.count("\n") == 1 for p in (short, from_file, from_env, users))


def test_serve_reads_the_token_from_a_file(tmp_path: Path) -> None:
    import httpx

    (tmp_path / "token").write_text("file-token-0123456789\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "serve", "--port", "0",
         "--token-file", str(tmp_path / "token")],
        cwd=tmp_path, env=cli_env(f"sqlite:///{tmp_path / 'x.db'}"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().endswith("/?token=file-token-0123456789"), line
        base = line.split(" on ", 1)[1].strip().split("/?", 1)[0]
        ok = httpx.get(base + "/api/me", headers={"Authorization": "Bearer file-token-0123456789"})
        assert ok.json() == {"name": "inbox", "named": False}
    finally:
        stop_process(proc)


def test_cancel_records_who_and_refuses_finished_runs(client: TestClient) -> None:
    alice = {"Authorization": "Bearer alice-token-0123456789"}
    cancelled = client.post("/api/runs/ticket-7/cancel", headers=alice)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    detail = client.get("/api/runs/ticket-7", headers=AUTH).json()
    assert detail["status"] == "cancelled"
    assert detail["metadata"]["cancelled_by"] == "alice"
    assert "cancelled by alice" in detail["error"]
    _is_documented_error(client.post("/api/runs/ticket-7/cancel", headers=AUTH), 409, "finished")
    _is_documented_error(client.post("/api/runs/nope/cancel", headers=AUTH), 404, "not_found")


def test_fork_and_retry_validate_their_input(client: TestClient) -> None:
    bad = client.post("/api/runs/hello/fork", headers=AUTH, json={"step": -1})
    _is_documented_error(bad, 400, "bad_request")
    not_failed = client.post("/api/runs/hello/retry", headers=AUTH)
    _is_documented_error(not_failed, 409, "not_failed")
    _is_documented_error(client.post("/api/runs/nope/retry", headers=AUTH), 404, "not_found")
    _is_documented_error(
        client.post("/api/runs/nope/fork", headers=AUTH, json={"step": 1}), 404, "not_found"
    )


BROKEN = '''

def broken() -> Agent:
    """Its model has nothing scripted: the first model call fails."""
    return Agent(name="broken", model=ScriptedModel([]))
'''


def test_retry_and_fork_a_failed_durable_run(tmp_path: Path, agents: Any) -> None:
    with (tmp_path / "timestep_test_agents.py").open("a") as source:
        source.write(BROKEN)
    db_url = f"sqlite:///{tmp_path / 'durable.db'}"
    failed = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "run", "timestep_test_agents:broken", "hi",
         "--run-id", "t/fail"],
        cwd=tmp_path, env=cli_env(db_url), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    store = RunStateStore(db_url)
    with TestClient(create_app(store, token=TOKEN), raise_server_exceptions=False) as client:
        detail = client.get("/api/runs/t%2Ffail", headers=AUTH).json()
        assert detail["status"] == "failed"
        assert detail["durable_steps"], detail
        retried = client.post("/api/runs/t%2Ffail/retry", headers=AUTH)
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert body["new_run_id"].startswith("t/fail-retry-")
        assert body["segment"] == f"{body['new_run_id']}@0"
        forked = client.post("/api/runs/t%2Ffail/fork", headers=AUTH, json={"step": 0})
        assert forked.status_code == 200, forked.text
        assert forked.json()["new_run_id"].startswith("t/fail-fork-")
