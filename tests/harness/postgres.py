"""A throwaway PostgreSQL server for tests: Debian's PostgreSQL 15 binaries, 127.0.0.1 only.

The server runs from a fresh temporary data directory on a free port with trust authentication.
``stop()`` removes it; so does ``atexit``, and, if the test process is killed with SIGKILL, a small
reaper process (pg_ctl detaches the server into its own session, so it would outlive the tests).
PostgreSQL refuses to run as root, so as root every server command runs as the ``postgres`` OS user
via ``runuser``; otherwise as the current user.

``TIMESTEP_PG_BIN`` overrides the binaries directory (default ``/usr/lib/postgresql/15/bin``) and
``TIMESTEP_PG_TMPDIR`` the parent of the throwaway directory (e.g. ``/dev/shm`` for speed).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from .http_server import free_port

__all__ = [
    "DEFAULT_PG_BIN",
    "MISSING_REASON",
    "PostgresServer",
    "PostgresUnavailable",
    "create_database",
    "drop_database",
    "pg_bin_dir",
    "to_conninfo",
]

DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
MISSING_REASON = "PostgreSQL 15 server binaries not installed (apt-get install postgresql)"
_SERVER_USER = "postgres"
# Roles in this group must give their password (tests of credential handling); others use trust.
PASSWORD_GROUP = "timestep_password_users"

# Runs in its own session; blocks reading stdin, a pipe only the test process holds open. EOF means
# the test process ended (or stop() closed the pipe): stop the server if it still runs, delete it.
_REAPER = """
import os, shutil, subprocess, sys
base, *stop_cmd = sys.argv[1:]
sys.stdin.buffer.read()
if os.path.exists(os.path.join(base, "data", "postmaster.pid")):
    subprocess.run(stop_cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
shutil.rmtree(base, ignore_errors=True)
"""


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here (binaries or the ``postgres`` OS user missing)."""


def pg_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    return Path(os.environ.get("TIMESTEP_PG_BIN", DEFAULT_PG_BIN))


def _check_available() -> None:
    bin_dir = pg_bin_dir()
    missing = [b for b in ("initdb", "pg_ctl", "postgres") if not (bin_dir / b).is_file()]
    if missing:
        raise PostgresUnavailable(f"{MISSING_REASON}: missing {', '.join(missing)} in {bin_dir}")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root but `runuser` is not available")
        try:
            pwd.getpwnam(_SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root but there is no `{_SERVER_USER}` OS user "
                "(it comes with the Debian postgresql package)"
            ) from None


def to_conninfo(url: str) -> str:
    """Turn a SQLAlchemy URL (``postgresql+psycopg://...``) into a libpq URL for psycopg."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class PostgresServer:
    """One PostgreSQL server process with a throwaway data directory."""

    def __init__(self, *, startup_timeout: float = 60.0) -> None:
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._running = False
        self._as_root = os.geteuid() == 0
        self._reaper: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------------------ paths
    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the server puts its Unix socket (kept out of /var/run/postgresql)."""
        return self._base() / "sock"

    @property
    def log_file(self) -> Path:
        """The server log (read it when a start fails)."""
        return self._base() / "server.log"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("PostgresServer is not started")
        return self.base_dir

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL ``postgresql+psycopg://postgres@127.0.0.1:PORT/<database>``."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        return f"postgresql+psycopg://{_SERVER_USER}@127.0.0.1:{self.port}/{database}"

    # -------------------------------------------------------------------------- lifecycle
    def _cmd(self, *args: str) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", _SERVER_USER, "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> PostgresServer:
        """initdb a fresh cluster and start it on a free 127.0.0.1 port."""
        if self._running:
            raise RuntimeError("PostgresServer is already started")
        _check_available()
        base = Path(tempfile.mkdtemp(prefix="timestep-pg-", dir=self._parent_dir()))
        self.base_dir = base
        atexit.register(self.stop)
        try:
            self.socket_dir.mkdir()
            if self._as_root:
                entry = pwd.getpwnam(_SERVER_USER)
                for path in (base, self.socket_dir):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            bin_dir = pg_bin_dir()
            init = self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                _SERVER_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            if init.returncode != 0:
                raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr.strip()}")
            self._require_passwords_of(PASSWORD_GROUP)
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _require_passwords_of(self, group: str) -> None:
        """Members of ``group`` log in with a password (scram); everyone else stays on trust."""
        hba = self.data_dir / "pg_hba.conf"
        line = f"host all +{group} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(line + hba.read_text())

    def _parent_dir(self) -> str:
        """Where the throwaway directory goes: ``TIMESTEP_PG_TMPDIR`` or the temp dir.

        As root the ``postgres`` user must be able to reach it, so a temp dir that others cannot
        traverse is replaced by ``/tmp``.
        """
        parent = os.environ.get("TIMESTEP_PG_TMPDIR") or tempfile.gettempdir()
        if self._as_root and not os.stat(parent).st_mode & 0o001:
            parent = "/tmp"
        return parent

    def _start_on_free_port(self, attempts: int = 5) -> None:
        error = ""
        for _ in range(attempts):
            port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-p {port}",
                    f"-c unix_socket_directories={self.socket_dir}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c shared_buffers=32MB",
                    "-c max_connections=200",
                ]
            )
            started = self._run(
                str(pg_bin_dir() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(int(self.startup_timeout)),
                "start",
                timeout=self.startup_timeout + 30,
            )
            if started.returncode == 0:
                self.port = port
                self._running = True
                self._spawn_reaper()
                self._wait_ready()
                return
            error = self._log_tail() or started.stderr.strip()
            if "could not bind" not in error and "already in use" not in error:
                break
        raise RuntimeError(f"PostgreSQL did not start: {error}")

    def _stop_cmd(self, base: Path) -> list[str]:
        pg_ctl = str(pg_bin_dir() / "pg_ctl")
        return self._cmd(pg_ctl, "-D", str(base / "data"), "-m", "immediate", "-w", "stop")

    def _spawn_reaper(self) -> None:
        base = self._base()
        self._reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(base), *self._stop_cmd(base)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                with psycopg.connect(to_conninfo(self.url()), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and delete its directory (idempotent; safe after a failed start)."""
        base = self.base_dir
        if base is None:
            return
        if (base / "data" / "postmaster.pid").exists():
            try:
                stopped = subprocess.run(
                    self._stop_cmd(base),
                    capture_output=True,
                    timeout=60,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
                failed = stopped.returncode != 0
            except subprocess.TimeoutExpired:
                failed = True
            if failed:
                self._kill_postmaster(base / "data" / "postmaster.pid")
        shutil.rmtree(base, ignore_errors=True)
        reaper, self._reaper = self._reaper, None
        if reaper is not None and reaper.stdin is not None:
            reaper.stdin.close()  # nothing left to do: it exits
            try:
                reaper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                reaper.kill()
        self.base_dir = None
        self._running = False
        atexit.unregister(self.stop)

    @staticmethod
    def _kill_postmaster(pid_file: Path) -> None:
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_database(server_url: str, name: str | None = None) -> str:
    """Create a database on the server at ``server_url``; return its SQLAlchemy URL."""
    name = name or f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(to_conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database, disconnecting anyone still using it."""
    with psycopg.connect(to_conninfo(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def end_sessions(db_url: str) -> None:
    """End every session on ``db_url``'s database from outside (as a server restart would).

    Waits until those sessions are gone; clients that reconnect meanwhile (a heartbeat, DBOS's
    listener) open new sessions, which are left alone.
    """
    name = make_url(db_url).database
    with psycopg.connect(to_conninfo(db_url), autocommit=True) as conn:
        ended = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        ]
        conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (ended,))
        deadline = time.monotonic() + 10
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s::int[])"
        while conn.execute(alive, (ended,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "sessions did not end"
            time.sleep(0.02)
