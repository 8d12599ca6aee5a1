"""Run `llama-server` on a free loopback port, on demand, and stop it cleanly."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from timestep._errors import LocalModelError
from timestep.models.local._paths import LocalModelPaths

_HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((_HOST, 0))
        port: int = s.getsockname()[1]
        return port


def default_threads() -> int:
    """`$TIMESTEP_LOCAL_MODEL_THREADS`, else 2.

    Use 1 on a machine whose cores are busy with other work: llama.cpp's threads wait for each
    other by spinning, so 2 threads on 2 contended cores generate several times slower than 1.
    """
    value = os.environ.get("TIMESTEP_LOCAL_MODEL_THREADS", "2")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise LocalModelError(f"TIMESTEP_LOCAL_MODEL_THREADS must be a positive integer: {value!r}")
    return threads


class LocalModelServer:
    """One `llama-server` process serving the local model on 127.0.0.1.

    `start()` launches it on a free port and waits for `/health`; `stop()` terminates it
    (then kills it if it does not exit). Usable as a context manager.
    """

    def __init__(
        self,
        paths: LocalModelPaths | None = None,
        *,
        ctx_size: int = 8192,
        threads: int | None = None,
        startup_timeout: float = 120.0,
        log_file: Path | None = None,
    ) -> None:
        self.paths = paths if paths is not None else LocalModelPaths.in_cache()
        self.ctx_size = ctx_size
        self.threads = threads if threads is not None else default_threads()
        self.startup_timeout = startup_timeout
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """The process is alive (it answered `/health` when it was started)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if not self.running or self._port is None:
            raise LocalModelError("the local model server is not running; call start() first")
        return f"http://{_HOST}:{self._port}"

    def command(self, port: int) -> list[str]:
        """The llama-server command line for `port`."""
        p = self.paths
        return [
            str(p.server_binary),
            "--model", str(p.weights),
            "--host", _HOST,
            "--port", str(port),
            "--ctx-size", str(self.ctx_size),
            "--threads", str(self.threads),
            "--parallel", "1",
            "--jinja",
            "--chat-template-file", str(p.chat_template),
            "--no-webui",
        ]  # fmt: skip

    def start(self) -> str:
        """Start the server unless it runs already; returns its base URL."""
        with self._lock:
            if self.running:
                return self.base_url
            for f in (self.paths.server_binary, self.paths.weights, self.paths.chat_template):
                if not f.is_file():
                    raise LocalModelError(
                        f"{f} is missing; run `python -m timestep.models.local setup` first"
                    )
            log = self.log_file or self.paths.cache_dir / "logs" / f"llama-server-{os.getpid()}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            port = free_port()
            with log.open("ab") as out:
                self._proc = subprocess.Popen(
                    self.command(port),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._port = port
            try:
                self._wait_healthy(log)
            except BaseException:
                self._stop_locked(timeout=5.0)
                raise
            return self.base_url

    def _wait_healthy(self, log: Path) -> None:
        url = f"http://{_HOST}:{self._port}/health"
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if (code := self._proc.poll()) is not None:
                    raise LocalModelError(
                        f"llama-server exited with code {code} while starting; log: {log}\n"
                        + _tail(log)
                    )
                try:
                    if client.get(url).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise LocalModelError(
            f"llama-server did not become healthy within {self.startup_timeout:.0f} s; log: {log}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, wait up to `timeout` seconds, then kill it."""
        with self._lock:
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> None:
        proc, self._proc, self._port = self._proc, None, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "".join(text.splitlines(True)[-lines:])


_shared: LocalModelServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> LocalModelServer:
    """The process-wide server (created once, stopped at interpreter exit); not yet started."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LocalModelServer()
            atexit.register(_shared.stop)
        return _shared
