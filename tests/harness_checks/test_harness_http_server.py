"""LiveServer serves a Starlette app on 127.0.0.1 and records what it receives."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.http_server import LiveServer


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {"method": request.method, "len": len(body), "q": dict(request.query_params)}
    )


APP = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])


def test_serves_and_records_requests() -> None:
    with LiveServer(APP) as server:
        assert server.url.startswith("http://127.0.0.1:")
        got = httpx.post(
            server.url + "/echo?x=1&y=two",
            json={"hello": "world"},
            headers={"X-Custom": "abc"},
        )
        assert got.status_code == 200
        # The app still sees the body after the recorder consumed it.
        assert got.json() == {
            "method": "POST",
            "len": len(b'{"hello":"world"}'),
            "q": {"x": "1", "y": "two"},
        }
        assert httpx.get(server.url + "/missing").status_code == 404

        first, second = server.requests
        assert first.method == "POST"
        assert first.path == "/echo"
        assert first.query == {"x": "1", "y": "two"}
        assert first.query_string == "x=1&y=two"
        assert first.headers["x-custom"] == "abc"
        assert first.json == {"hello": "world"}
        assert second.method == "GET"
        assert second.path == "/missing"
        assert second.json is None

        server.clear_requests()
        assert server.requests == []


async def test_async_client_and_stop_closes_port() -> None:
    server = LiveServer(APP).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            got = await client.get("/echo")
        assert got.json()["method"] == "GET"
        assert len(server.wait_for_requests(1)) == 1
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/echo", timeout=2)
    server.stop()  # idempotent


def test_two_servers_get_distinct_ports() -> None:
    with LiveServer(APP) as a, LiveServer(APP) as b:
        assert a.port != b.port
        httpx.get(a.url + "/echo")
        assert len(a.requests) == 1
        assert b.requests == []


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = LiveServer(APP).url
