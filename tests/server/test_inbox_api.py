"""The inbox's JSON API: auth, CSRF, decisions, events, OpenAPI document, auto-resume."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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
from harness.http_server import LiveServer
from harness.processes import stop_process
from timestep.server import create_app, csrf_token, openapi_schema
from timestep.state import RunStateStore

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
APPROVE = "/api/runs/ticket-42/approvals/call-refund/approve"
REJECT = "/api/runs/ticket-42/approvals/call-refund/reject"


@pytest.fixture(autouse=True)
def _durable_shutdown() -> Iterator[None]:
    reset_durable()  # another test module may have left DBOS running on its own database
    yield
    reset_durable()


@pytest.fixture
def agents(tmp_path: Path) -> Any:
    return agents_module(tmp_path)


@pytest.fixture
async def store(tmp_path: Path, agents: Any) -> Any:
    """``ticket-42`` waiting for approval of ``call-refund``, ``hello`` done."""
    async with RunStateStore(f"sqlite:///{tmp_path / 'inbox.db'}") as store:
        await interrupted_run(store, "ticket-42", agents.start())
        await finished_run(store, "hello", agents.chat())
        yield store


@pytest.fixture
def client(store: RunStateStore) -> Iterator[TestClient]:
    with TestClient(create_app(store, token=TOKEN)) as client:
        yield client


def _response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    """The documented JSON schema of one response, with the document's components in reach."""
    doc = openapi_schema()
    operation = doc["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return {"components": doc["components"], **schema}


def _validate(body: Any, path: str, method: str, status: int) -> None:
    jsonschema.validate(body, _response_schema(path, method, str(status)))


ENDPOINTS = [
    ("GET", "/openapi.json"),
    ("GET", "/api/me"),
    ("GET", "/api/approvals"),
    ("GET", "/api/events"),
    ("GET", "/api/activity"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/ticket-42"),
    ("POST", APPROVE),
    ("POST", REJECT),
    ("POST", "/api/runs/ticket-42/cancel"),
    ("POST", "/api/runs/ticket-42/fork"),
    ("POST", "/api/runs/ticket-42/retry"),
    ("GET", "/api/runs/ticket-42/stream"),
]
PAGES = ["/", "/runs/ticket-42"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_token(client: TestClient, method: str, path: str) -> None:
    missing = client.request(method, path)
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert "no token" in missing.json()["message"]
    _validate(missing.json(), "/api/approvals", "get", 401)

    wrong = client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "wrong token" in wrong.json()["message"]

    client.cookies.set("timestep_inbox_token", "nope")
    cookie = client.request(method, path)
    assert cookie.status_code == 401


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_browser_without_the_token_to_sign_in(
    client: TestClient, path: str
) -> None:
    missing = client.get(path, follow_redirects=False)
    assert missing.status_code == 303
    assert missing.headers["location"].startswith("/login?next=")
    client.cookies.set("timestep_inbox_token", "nope")
    assert client.get(path, follow_redirects=False).status_code == 303
    wrong = client.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert client.get(path, headers=AUTH).status_code == 200


def test_openapi_document_lists_exactly_the_routes(client: TestClient) -> None:
    response = client.get("/openapi.json", headers=AUTH)
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        for method in route.methods - {"HEAD"}:
            routed.add((method, route.path.replace(":path}", "}")))
    assert documented == routed
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema({"components": doc["components"], **schema})
        assert schema["type"] == "object", name


def test_list_approvals(client: TestClient) -> None:
    response = client.get("/api/approvals", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    _validate(body, "/api/approvals", "get", 200)
    [item] = body["approvals"]
    assert item["run_id"] == "ticket-42"
    assert item["agent_name"] == "support"
    assert item["tool_name"] == "refund"
    assert item["call_id"] == "call-refund"
    assert json.loads(item["arguments"]) == {"order_id": "42", "amount": 5}
    assert item["arguments_pretty"] == '{\n  "amount": 5,\n  "order_id": "42"\n}'
    assert item["waiting_since"].endswith("Z")


def test_list_runs_and_filter(client: TestClient) -> None:
    body = client.get("/api/runs", headers=AUTH).json()
    _validate(body, "/api/runs", "get", 200)
    assert {r["run_id"]: r["status"] for r in body["runs"]} == {
        "ticket-42": "waiting",
        "hello": "done",
    }
    waiting = client.get("/api/runs", params={"status": "waiting"}, headers=AUTH).json()
    assert [r["run_id"] for r in waiting["runs"]] == ["ticket-42"]
    bad = client.get("/api/runs", params={"status": "asleep"}, headers=AUTH)
    assert bad.status_code == 400
    _validate(bad.json(), "/api/runs", "get", 400)


def test_run_detail_and_unknown_run(client: TestClient) -> None:
    response = client.get("/api/runs/ticket-42", headers=AUTH)
    assert response.status_code == 200
    detail = response.json()
    _validate(detail, "/api/runs/{run_id}", "get", 200)
    assert [s["name"] for s in detail["timeline"]] == ["model", "lookup", "model", "refund"]
    assert detail["timeline"][3]["status"] == "pending_approval"
    assert [p["call_id"] for p in detail["pending_approvals"]] == ["call-refund"]

    missing = client.get("/api/runs/nope", headers=AUTH)
    assert missing.status_code == 404
    _validate(missing.json(), "/api/runs/{run_id}", "get", 404)
    assert detail["error"] is None


async def test_run_detail_of_a_failed_run_carries_its_error(
    store: RunStateStore, client: TestClient
) -> None:
    await store.set_status("hello", "failed", metadata={"error": "QuotaError: quota exceeded"})
    detail = client.get("/api/runs/hello", headers=AUTH).json()
    _validate(detail, "/api/runs/{run_id}", "get", 200)
    assert (detail["status"], detail["error"]) == ("failed", "QuotaError: quota exceeded")
    runs = client.get("/api/runs", headers=AUTH).json()
    _validate(runs, "/api/runs", "get", 200)
    errors = {run["run_id"]: run["error"] for run in runs["runs"]}
    assert errors == {"hello": "QuotaError: quota exceeded", "ticket-42": None}


def test_approve_records_who_and_a_second_decision_is_409(client: TestClient) -> None:
    response = client.post(APPROVE, headers=AUTH, json={"decided_by": "alice", "reason": "fine"})
    assert response.status_code == 200
    body = response.json()
    _validate(body, "/api/runs/{run_id}/approvals/{call_id}/approve", "post", 200)
    decision = body["decision"]
    assert (decision["decision"], decision["decided_by"], decision["reason"]) == (
        "approve",
        "alice",
        "fine",
    )
    assert body["resuming"] is False  # no agents given to this server

    again = client.post(REJECT, headers=AUTH, json={"reason": "too late", "decided_by": "bob"})
    assert again.status_code == 409
    assert again.json()["error"] == "already_decided"
    assert "already approved by alice" in again.json()["message"]
    _validate(again.json(), "/api/runs/{run_id}/approvals/{call_id}/reject", "post", 409)

    assert client.get("/api/approvals", headers=AUTH).json() == {"approvals": []}
    detail = client.get("/api/runs/ticket-42", headers=AUTH).json()
    assert [d["decided_by"] for d in detail["decisions"]] == ["alice"]


def test_reject_needs_a_reason(client: TestClient) -> None:
    response = client.post(REJECT, headers=AUTH, json={"decided_by": "bob"})
    assert response.status_code == 400
    assert "reason" in response.json()["message"]
    ok = client.post(REJECT, headers=AUTH, json={"reason": "too much"})
    assert ok.status_code == 200
    assert ok.json()["decision"]["decision"] == "reject"
    assert ok.json()["decision"]["decided_by"] == "inbox"


def test_bad_bodies_unknown_calls_and_finished_runs(client: TestClient) -> None:
    bad = client.post(APPROVE, headers={**AUTH, "Content-Type": "application/json"}, content="{")
    assert bad.status_code == 400
    wrong_type = client.post(APPROVE, headers=AUTH, json={"decided_by": 7})
    assert wrong_type.status_code == 400
    unknown = client.post("/api/runs/ticket-42/approvals/call-x/approve", headers=AUTH)
    assert unknown.status_code == 404
    assert "call-x" in unknown.json()["message"]
    no_run = client.post("/api/runs/nope/approvals/call-x/approve", headers=AUTH)
    assert no_run.status_code == 404
    done = client.post("/api/runs/hello/approvals/call-x/approve", headers=AUTH)
    assert done.status_code == 409
    assert done.json()["error"] == "not_waiting"


def test_token_in_url_sets_a_cookie_and_page_carries_the_csrf_token(client: TestClient) -> None:
    response = client.get("/", params={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    page = client.get("/")  # the cookie now authenticates
    assert page.status_code == 200
    assert f'content="{csrf_token(TOKEN)}"' in page.text
    assert "{{CSRF_TOKEN}}" not in page.text
    wrong_query = client.get("/", params={"token": "nope"}, follow_redirects=False)
    assert wrong_query.status_code == 200  # the cookie authenticates; the wrong token is ignored


def test_cookie_posts_need_the_csrf_header(client: TestClient) -> None:
    client.cookies.set("timestep_inbox_token", TOKEN)
    assert client.get("/api/approvals").status_code == 200
    without = client.post(APPROVE, json={})
    assert without.status_code == 403
    assert without.json()["error"] == "csrf"
    wrong = client.post(APPROVE, json={}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    right = client.post(APPROVE, json={}, headers={"X-CSRF-Token": csrf_token(TOKEN)})
    assert right.status_code == 200


def test_cross_site_origin_is_refused_even_with_credentials(client: TestClient) -> None:
    evil = {**AUTH, "Origin": "https://evil.example"}
    response = client.post(APPROVE, headers=evil, json={})
    assert response.status_code == 403
    assert response.json()["error"] == "cross_site"
    client.cookies.set("timestep_inbox_token", TOKEN)
    cookie = client.post(
        APPROVE,
        json={},
        headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf_token(TOKEN)},
    )
    assert cookie.status_code == 403
    same = client.post(APPROVE, headers={**AUTH, "Origin": "http://testserver"}, json={})
    assert same.status_code == 200


def _events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: ") :])


def test_events_announce_new_and_decided_approvals(store: RunStateStore, agents: Any) -> None:
    app = create_app(store, token=TOKEN, poll_interval=0.2)
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers=AUTH) as http,
        http.stream("GET", "/api/events", timeout=60) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
        seen = dict([next(events), next(events)])
        assert [a["call_id"] for a in seen["approvals"]["approvals"]] == ["call-refund"]
        assert {r["run_id"] for r in seen["runs"]["runs"]} == {"ticket-42", "hello"}
        asyncio.run(_another_interrupted_run(store.url, agents, "ticket-43"))
        name, body = next(events)
        while name != "approvals":
            name, body = next(events)
        assert [a["run_id"] for a in body["approvals"]] == ["ticket-42", "ticket-43"]

        decided = http.post(APPROVE, json={"decided_by": "carol"})
        assert decided.status_code == 200
        name, body = next(events)
        while name != "approvals":
            name, body = next(events)
        assert [a["run_id"] for a in body["approvals"]] == ["ticket-43"]


async def _another_interrupted_run(url: str, agents: Any, run_id: str) -> None:
    """Another process's view: a second store object on the same database."""
    async with RunStateStore(url) as other:
        await interrupted_run(other, run_id, agents.start())


def test_server_with_agents_resumes_a_decided_run(store: RunStateStore, agents: Any) -> None:
    app = create_app(store, token=TOKEN, agents=[agents.finish()])
    with LiveServer(app) as server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        response = http.post(APPROVE, json={"decided_by": "dave"}, timeout=60)
        assert response.status_code == 200
        assert response.json()["resuming"] is True
        deadline = time.monotonic() + 120
        detail = http.get("/api/runs/ticket-42").json()
        while detail["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            detail = http.get("/api/runs/ticket-42").json()
    assert detail["status"] == "done"
    assert detail["final_output"] == "Refunded 5 on order 42."
    refund = next(s for s in detail["timeline"] if s["name"] == "refund")
    assert refund["output"] == "refunded 5 on order 42"


def test_serve_command_uses_the_configured_token_and_binds_loopback(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**cli_env(db_url), "TIMESTEP_INBOX_TOKEN": "from-the-environment"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "serve", "--port", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "timestep inbox on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].strip()
        assert url.endswith("/?token=from-the-environment")
        base = url.split("/?", 1)[0]
        assert httpx.get(base + "/api/runs").status_code == 401
        ok = httpx.get(base + "/api/runs", headers={"Authorization": "Bearer from-the-environment"})
        assert ok.status_code == 200
        assert ok.json() == {"runs": [], "total": 0}
    finally:
        stop_process(proc)


def test_serve_refuses_a_file_store(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "serve", "--db", str(tmp_path / "state.json")],
        cwd=tmp_path, env=cli_env(""), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "is a file, not a database" in proc.stderr
