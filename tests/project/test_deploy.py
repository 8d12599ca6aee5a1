"""The deployment recipe (deploy/compose.yaml) brought up as local processes, end to end.

``deploy/run_local.py`` starts PostgreSQL, ``timestep db upgrade``, two workers, the inbox and
nginx as the TLS proxy, as the compose file describes. A run is queued, waits for approval, is
approved through HTTPS (as a browser on the proxy's origin would), and a worker finishes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.processes import stop_process
from timestep import RunStateStore
from timestep.durable import enqueue_run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
RUN_LOCAL = ROOT / "deploy" / "run_local.py"


def _require_tools() -> None:
    missing = [
        f"{tool} ({package})"
        for tool, package in (
            ("/usr/sbin/nginx", "nginx-light"),
            ("/usr/lib/postgresql/15/bin/initdb", "postgresql"),
        )
        if not Path(tool).exists()
    ]
    if shutil.which("openssl") is None:
        missing.append("openssl (openssl)")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: apt-get install nginx-light postgresql openssl")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _logs(base: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for log in base.glob("*.log")
    )


def _read_ready(proc: subprocess.Popen[str], timeout: float, base: Path) -> dict[str, str]:
    """The ``ready`` lines run_local prints once every service is up."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while len(found) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("ready TIMESTEP_DB="):
            found["db"] = line.removeprefix("ready TIMESTEP_DB=").strip()
        elif line.startswith("ready inbox "):
            found["inbox"] = line.removeprefix("ready inbox ").strip()
    if len(found) < 2:
        proc.kill()
        _, stderr = proc.communicate(timeout=30)
        pytest.fail(f"run_local did not get ready: {stderr[-3000:]}\n{_logs(base)}")
    return found


async def _wait_status(store: RunStateStore, run_id: str, status: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        summaries = {run.run_id: run for run in await store.list_runs()}
        seen = summaries.get(run_id)
        if seen is not None and seen.status == status:
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"run {run_id} did not become {status} (last seen: {seen})")


def test_compose_services_match_what_run_local_starts() -> None:
    services: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())[
        "services"
    ]
    assert set(services) == {"postgres", "migrate", "worker", "inbox", "proxy"}
    assert services["migrate"]["command"] == ["timestep", "db", "upgrade"]
    assert services["worker"]["command"][:2] == ["timestep", "worker"]
    assert services["inbox"]["command"][:2] == ["timestep", "serve"]
    # Workers and the inbox start only after the migration: they must not race on DDL.
    for name in ("worker", "inbox"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    units = ROOT / "deploy" / "systemd"
    worker_unit = (units / "timestep-worker@.service").read_text()
    assert "timestep worker --agent" in worker_unit and "--executor-id %i" in worker_unit
    assert "timestep serve" in (units / "timestep-inbox.service").read_text()


@pytest.mark.timeout(1500)
def test_local_deployment_approves_through_tls_and_a_worker_finishes() -> None:
    _require_tools()
    # As root, Postgres runs as the postgres user, which cannot enter pytest's private tmp_path.
    tmp_path = Path(tempfile.mkdtemp(prefix="timestep-deploy-", dir="/tmp"))
    tmp_path.chmod(0o755)
    https_port = _free_port()
    env = {**os.environ, "TIMESTEP_MODEL": "scripted", "PYTHONUNBUFFERED": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(
        [sys.executable, str(RUN_LOCAL), "--workers", "2", "--dir", str(tmp_path / "deploy"),
         "--https-port", str(https_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ready = _read_ready(proc, timeout=900, base=tmp_path / "deploy")
        token = ready["inbox"].split("token=", 1)[1]
        origin = f"https://127.0.0.1:{https_port}"
        store = RunStateStore(ready["db"])

        async def queue_and_wait() -> None:
            await enqueue_run("support", "Refund order 42", run_id="deploy-1", store=store)
            await _wait_status(store, "deploy-1", "waiting", timeout=180)

        asyncio.run(queue_and_wait())
        cert = tmp_path / "deploy" / "tls" / "cert.pem"
        tls = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=origin, verify=tls, timeout=60) as client:
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/approvals").status_code == 401
            pending = client.get("/api/approvals", headers=auth).json()
            calls = [a for a in pending["approvals"] if a["run_id"] == "deploy-1"]
            assert [c["tool_name"] for c in calls] == ["refund"]
            approve = f"/api/runs/deploy-1/approvals/{calls[0]['call_id']}/approve"
            # A POST from another origin is refused even with the token; the proxy's own is not.
            evil = client.post(approve, headers={**auth, "Origin": "https://evil.example"})
            assert evil.status_code == 403
            decided = client.post(approve, headers={**auth, "Origin": origin}, json={})
            assert decided.status_code == 200, decided.text

        async def finished() -> str:
            await _wait_status(store, "deploy-1", "done", timeout=180)
            state = await store.get("deploy-1")
            return json.dumps(state.state_json)

        assert "Refund of $25 issued for order 42." in asyncio.run(finished())
    finally:
        stopped = stop_process(proc)  # -9: it did not stop on SIGTERM within 60 s
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert stopped == 0, proc.stderr.read() if proc.stderr else ""
