"""Bring deploy/compose.yaml up as local processes, for machines without a container engine.

``make deploy-local`` (or ``python deploy/run_local.py --workers 2``) starts what the compose file
describes: a PostgreSQL server (Debian's binaries, a data directory under ``--dir``), ``timestep db
upgrade``, N workers and the inbox with the commands and environment written in the compose file,
and Debian's nginx as the TLS proxy rendered from ``nginx.conf.template`` with a self-signed
certificate. Only hosts and ports differ: everything listens on 127.0.0.1, on free ports. When all
is up it prints ``ready`` lines (the database URL, the inbox URL); Ctrl+C or SIGTERM stops it all.
"""

from __future__ import annotations

import argparse
import functools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PG_BIN = Path(os.environ.get("TIMESTEP_PG_BIN", "/usr/lib/postgresql/15/bin"))
_VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


class DeployError(RuntimeError):
    """A service could not be started; the message names it and what to do."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` substitution."""

    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        found = env.get(name, "")
        if found:
            return found
        if op == "?":
            raise DeployError(f"{name}: {arg}")
        return arg if op == "-" else ""

    return _VAR.sub(sub, value)


def load_compose(path: Path = HERE / "compose.yaml") -> dict[str, Any]:
    """The compose file's services (YAML anchors and merge keys resolved by the loader)."""
    with path.open() as f:
        services: dict[str, Any] = yaml.safe_load(f)["services"]
    return services


def service_env(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """A service's environment with compose interpolation applied."""
    raw = service.get("environment") or {}
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(check: Callable[[], bool], what: str, timeout: float | None = None) -> None:
    # Generous by default: a loaded machine takes minutes to import and start every process.
    timeout = timeout or float(os.environ.get("TIMESTEP_DEPLOY_TIMEOUT", "600"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise DeployError(f"{what} did not become ready within {timeout:.0f} s")


def _check(cmd: Sequence[str], what: str, env: Mapping[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    if done.returncode != 0:
        raise DeployError(f"{what} failed ({done.returncode}): {done.stderr.strip()}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalDeployment:
    """The compose file's services as child processes under one directory."""

    def __init__(self, base: Path, workers: int, https_port: int) -> None:
        self.base = base
        self.workers = workers
        self.https_port = https_port
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.as_root = os.geteuid() == 0
        self.pg_port = free_port()
        self.inbox_port = free_port()
        self.password = secrets.token_hex(8)
        self.env = {**os.environ, "POSTGRES_PASSWORD": self.password}
        self.env.setdefault("TIMESTEP_INBOX_TOKEN", secrets.token_urlsafe(32))
        self.db_url = f"postgresql://timestep:{self.password}@127.0.0.1:{self.pg_port}/timestep"

    def _as_postgres(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else list(cmd)

    def start_postgres(self) -> None:
        """Debian's server with the compose service's user, password and database."""
        if not (PG_BIN / "initdb").is_file():
            raise DeployError(f"no PostgreSQL server in {PG_BIN}: apt-get install postgresql")
        data = self.base / "pgdata"
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        init = self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(data), "-U", "timestep", "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        _check(init, f"initdb in {data} (the postgres user must be able to reach it)")
        options = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -c unix_socket_directories="
        start = self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.base / "postgres.log"),
            "-o", options, "-w", "start",
        )  # fmt: skip
        _check(start, "starting PostgreSQL")
        createdb = self._as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port),
            "-U", "timestep", "timestep",
        )  # fmt: skip
        _check(createdb, "createdb", env={**self.env, "PGPASSWORD": self.password})

    def stop_postgres(self) -> None:
        data = self.base / "pgdata"
        if (data / "postmaster.pid").exists():
            stop = self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
            subprocess.run(stop, capture_output=True, stdin=subprocess.DEVNULL, check=False)

    def _command(self, name: str, service: Mapping[str, Any]) -> list[str]:
        command = [interpolate(str(part), self.env) for part in service["command"]]
        if command[0] == "timestep":  # the installed command of this environment
            command[0] = str(Path(sys.executable).with_name("timestep"))
        if name == "inbox":  # local hosts and ports instead of the container network's
            command[command.index("--host") + 1] = "127.0.0.1"
            command[command.index("--port") + 1] = str(self.inbox_port)
        return command

    def _service_env(self, service: Mapping[str, Any]) -> dict[str, str]:
        env = {**self.env, **service_env(service, self.env)}
        env["TIMESTEP_DB"] = self.db_url
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(":")
        env.pop("FORWARDED_ALLOW_IPS", None)  # the local proxy is 127.0.0.1, uvicorn's default
        return env

    def spawn(self, name: str, service: Mapping[str, Any]) -> subprocess.Popen[bytes]:
        log = (self.base / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            self._command(name.split("-")[0], service),
            env=self._service_env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.procs.append((name, proc))
        return proc

    def _log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _logged(self, name: str, text: str) -> bool:
        return text in self._log(name)

    def start_proxy(self) -> None:
        """Debian's nginx with the compose proxy's template and a self-signed certificate."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).is_file():
            raise DeployError("no nginx: apt-get install nginx-light")
        tls = self.base / "tls"
        tls.mkdir(exist_ok=True)
        _check(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")],
            "openssl (self-signed certificate)",
        )  # fmt: skip
        values = {
            "INBOX_UPSTREAM": f"127.0.0.1:{self.inbox_port}",
            "TLS_PORT": f"127.0.0.1:{self.https_port}",
            "TLS_DIR": str(tls),
        }
        server = Template((HERE / "nginx.conf.template").read_text()).safe_substitute(values)
        run = self.base / "nginx"
        run.mkdir(exist_ok=True)
        (run / "nginx.conf").write_text(
            f"daemon off;\npid {run}/nginx.pid;\nerror_log {run}/error.log;\n"
            "events {}\nhttp {\n"
            f"  access_log {run}/access.log;\n  client_body_temp_path {run};\n"
            f"  proxy_temp_path {run};\n{server}}}\n"
        )
        log = (self.base / "proxy.log").open("ab")
        proc = subprocess.Popen(
            [nginx, "-p", str(run), "-c", str(run / "nginx.conf")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.procs.append(("proxy", proc))
        _wait(lambda: _listening(self.https_port), "proxy (nginx)")

    def up(self) -> None:
        """Start every service in the compose file's dependency order."""
        services = load_compose()
        self.start_postgres()
        migrate = subprocess.run(
            self._command("migrate", services["migrate"]),
            env=self._service_env(services["migrate"]),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if migrate.returncode != 0:
            raise DeployError(f"migrate failed: {migrate.stderr.strip() or migrate.stdout}")
        workers = [f"worker-{n}" for n in range(1, self.workers + 1)]
        for name in workers:
            self.spawn(name, services["worker"])
        inbox = self.spawn("inbox", services["inbox"])
        _wait(lambda: inbox.poll() is not None or _listening(self.inbox_port), "inbox")
        if inbox.poll() is not None:
            raise DeployError(f"inbox exited: {self._log('inbox')[-2000:]}")
        for name in workers:  # each worker prints a readiness line once it takes runs
            _wait(functools.partial(self._logged, name, "worker ready"), name)
        self.start_proxy()
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise DeployError(f"{name} exited: {self._log(name)[-2000:]}")

    def down(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stop_postgres()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--https-port", type=int, default=8443, help="the proxy's port")
    parser.add_argument("--dir", type=Path, default=Path(".deploy"), help="data and logs")
    args = parser.parse_args(argv)
    if args.dir.exists():
        shutil.rmtree(args.dir)
    deployment = LocalDeployment(args.dir.resolve(), args.workers, args.https_port)
    stop = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        deployment.up()
        token = deployment.env["TIMESTEP_INBOX_TOKEN"]
        print(f"ready TIMESTEP_DB={deployment.db_url}", flush=True)
        print(f"ready inbox https://127.0.0.1:{args.https_port}/?token={token}", flush=True)
        print(f"logs in {deployment.base} (Ctrl+C to stop)", flush=True)
        while not stop:
            for name, proc in deployment.procs:
                if proc.poll() is not None:
                    raise DeployError(f"{name} exited ({proc.returncode}); see its log")
            time.sleep(0.5)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        deployment.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
