"""A real HTTP server on 127.0.0.1 for tests: any ASGI app, served by uvicorn in a thread.

``LiveServer`` records every request it receives (``server.requests``), so fake model and search
servers built on it can be asserted against after a run::

    with LiveServer(app) as server:
        httpx.get(server.url + "/ping")
    assert server.requests[0].path == "/ping"
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FakeService", "LiveServer", "RecordedRequest", "free_port"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased; a repeated header keeps its last value."""
    query: dict[str, str]
    """Query parameters; a repeated parameter keeps its last value."""
    body: bytes = b""
    query_string: str = ""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body; ``ValueError`` if not JSON)."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class _Recorder:
    """ASGI middleware that buffers each request body, records it, then replays it to the app."""

    app: ASGIApp
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        disconnected = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        query_string = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            query=dict(parse_qsl(query_string, keep_blank_values=True)),
            body=body,
            query_string=query_string,
        )
        with self.lock:
            self.requests.append(record)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed and not disconnected:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class LiveServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a background thread, recording requests.

    Use as a context manager, or call ``start()`` / ``stop()``. ``url`` is ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._recorder = _Recorder(app)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:41234``."""
        if self.port is None:
            raise RuntimeError("LiveServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._recorder.lock:
            return list(self._recorder.requests)

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._recorder.lock:
            self._recorder.requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests were recorded; ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.requests
            if len(current) >= count:
                return current
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} requests, got {len(current)}")
            time.sleep(0.01)

    def start(self) -> LiveServer:
        """Bind the port, start serving, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("LiveServer is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self._recorder,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ws="none",
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"LiveServer:{self.port}",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("LiveServer failed to start (see the uvicorn log)")
            if time.monotonic() >= deadline:
                self.stop()
                raise TimeoutError("LiveServer did not start in time")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = None
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"<LiveServer {where}>"


class FakeService:
    """Base of the fake services: a ``LiveServer`` lifecycle (start, stop, ``with``, ``url``).

    Subclasses set ``self.server = LiveServer(app)`` in their ``__init__``.
    """

    server: LiveServer

    def start(self) -> Self:
        """Start serving on a free port of 127.0.0.1."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the service's root, no path)."""
        return self.server.url
