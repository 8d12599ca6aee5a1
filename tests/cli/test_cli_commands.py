"""End-to-end tests of the ``timestep`` command on a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from harness.cli_support import (
    AGENTS_MODULE,
    Cli,
    agents_module,
    cli_env,
    finished_run,
    interrupted_run,
    reset_durable,
    write_agents_module,
)
from harness.processes import stop_process
from timestep.cli import main
from timestep.state import RunStateStore


@pytest.fixture(autouse=True)
def _durable_shutdown() -> Iterator[None]:
    """In-process resumes launch DBOS on the test's database: destroy it afterwards."""
    reset_durable()  # another test module may have left DBOS running on its own database
    yield
    reset_durable()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'timestep.db'}"


@pytest.fixture
def agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    return agents_module(tmp_path)


@pytest.fixture
async def stored(db_url: str, agents: Any) -> str:
    """A store with run ``ticket-42`` waiting for approval and run ``hello`` done."""
    async with RunStateStore(db_url) as store:
        await interrupted_run(store, "ticket-42", agents.start())
        await finished_run(store, "hello", agents.chat())
    return db_url


@pytest.fixture
def cli(stored: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(stored, capsys)


def test_runs_list_shows_status_agent_and_pending(cli: Cli) -> None:
    runs = {run["run_id"]: run for run in cli.json("runs", "list")}
    assert runs["ticket-42"]["status"] == "waiting"
    assert runs["ticket-42"]["agent_name"] == "support"
    assert runs["ticket-42"]["pending_approvals"] == 1
    assert runs["hello"]["status"] == "done"
    assert runs["hello"]["pending_approvals"] == 0

    assert [r["run_id"] for r in cli.json("runs", "list", "--status", "waiting")] == ["ticket-42"]

    code, out, _ = cli("runs", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "ticket-42" in line)
    assert "waiting" in line and "support" in line


def test_runs_list_rejects_unknown_status(cli: Cli) -> None:
    code, _, err = cli("runs", "list", "--status", "sleeping")
    assert code == 2
    assert "sleeping" in err


def test_runs_show_timeline_and_pending_approvals(cli: Cli) -> None:
    detail = cli.json("runs", "show", "ticket-42")
    assert detail["status"] == "waiting"
    assert [v["version"] for v in detail["versions"]] == [1]
    kinds = [(step["kind"], step["name"]) for step in detail["timeline"]]
    assert kinds == [("model", "model"), ("tool", "lookup"), ("model", "model"), ("tool", "refund")]
    lookup, refund = detail["timeline"][1], detail["timeline"][3]
    assert lookup["status"] == "done"
    assert lookup["output"] == "order 42: paid 5"
    assert json.loads(refund["arguments"]) == {"order_id": "42", "amount": 5}
    assert refund["status"] == "pending_approval"
    assert detail["timeline"][0]["input_tokens"] is not None
    [pending] = detail["pending_approvals"]
    assert (pending["call_id"], pending["tool_name"]) == ("call-refund", "refund")

    code, out, _ = cli("runs", "show", "ticket-42")
    assert code == 0
    assert "timeline" in out and "pending approvals" in out
    assert "refund" in out and "waiting for approval" in out


def test_unknown_run_is_one_line_error_and_verbose_adds_traceback(cli: Cli) -> None:
    code, out, err = cli("runs", "show", "nope")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "nope" in err
    assert "Traceback" not in err

    code, _, err = cli("--verbose", "runs", "show", "nope")
    assert code == 1
    assert "Traceback" in err


def test_approve_records_who_and_refuses_a_second_decision(cli: Cli) -> None:
    code, out, _ = cli("approve", "ticket-42", "call-refund", "--by", "alice", "--reason", "ok")
    assert code == 0
    assert "approved refund" in out

    code, _, err = cli("approve", "ticket-42", "call-refund", "--by", "bob")
    assert code == 1
    assert "already approved by alice" in err

    code, _, err = cli("reject", "ticket-42", "--reason", "no")
    assert code == 1
    assert "already decided" in err

    [decision] = cli.json("runs", "show", "ticket-42")["decisions"]
    assert decision["decided_by"] == "alice"
    assert decision["decision"] == "approve"
    assert decision["reason"] == "ok"
    assert decision["state_version"] == 1
    assert decision["decided_at"].endswith("Z")


def test_reject_needs_a_reason_and_a_known_call(cli: Cli) -> None:
    code, _, err = cli("reject", "ticket-42", "call-refund")
    assert code == 2
    assert "--reason" in err

    code, _, err = cli("reject", "ticket-42", "call-nope", "--reason", "no")
    assert code == 1
    assert "call-nope" in err

    code, _, err = cli("approve", "hello")
    assert code == 1
    assert "not waiting" in err


def test_approve_then_resume_runs_the_tool_and_finishes(cli: Cli) -> None:
    assert cli("approve", "ticket-42", "--by", "alice")[0] == 0
    code, out, err = cli("resume", "ticket-42", "--agent", f"{AGENTS_MODULE}:finish")
    assert code == 0, err
    assert "done" in out
    assert "Refunded 5 on order 42." in out

    detail = cli.json("runs", "show", "ticket-42")
    assert detail["status"] == "done"
    refund = next(s for s in detail["timeline"] if s["name"] == "refund")
    assert refund["output"] == "refunded 5 on order 42"
    assert detail["final_output"] == "Refunded 5 on order 42."
    assert len(detail["versions"]) >= 2


def test_reject_then_resume_gives_the_model_the_reason(cli: Cli) -> None:
    assert cli("reject", "ticket-42", "--reason", "over the limit")[0] == 0
    code, _, err = cli("resume", "ticket-42", "--agent", f"{AGENTS_MODULE}:finish")
    assert code == 0, err
    detail = cli.json("runs", "show", "ticket-42")
    assert detail["status"] == "done"
    refund = next(s for s in detail["timeline"] if s["name"] == "refund")
    assert refund["output"] is not None
    assert "over the limit" in refund["output"]
    assert "refunded" not in refund["output"]


def test_approve_with_edited_arguments_runs_the_tool_with_them(cli: Cli) -> None:
    for bad, says in (("{nope", "not valid JSON"), ("[1]", "must be a JSON object, not list")):
        code, _, err = cli("approve", "ticket-42", "--arguments", bad)
        assert code == 1 and says in err and len(err.strip().splitlines()) == 1
    assert cli.json("runs", "show", "ticket-42")["decisions"] == []
    code, out, _ = cli(
        "approve", "ticket-42", "--arguments", '{"order_id": "42", "amount": 2}', "--by", "alice"
    )
    assert code == 0
    assert 'with edited arguments {"order_id":"42","amount":2}' in out
    assert '(the model\'s: {"order_id":"42","amount":5})' in out
    code, _, err = cli("resume", "ticket-42", "--agent", f"{AGENTS_MODULE}:finish")
    assert code == 0, err
    detail = cli.json("runs", "show", "ticket-42")
    refund = next(s for s in detail["timeline"] if s["name"] == "refund")
    assert refund["output"] == "refunded 2 on order 42"
    [decision] = detail["decisions"]
    assert (decision["arguments"], decision["original_arguments"]) == (
        '{"order_id":"42","amount":2}',
        '{"order_id":"42","amount":5}',
    )
    call = next(c for c in detail["conversation"] if c["name"] == "refund")
    assert call["edited_arguments"] == '{"order_id":"42","amount":2}'
    code, out, _ = cli("runs", "show", "ticket-42")
    assert code == 0
    flat = "".join(out.split())  # the tables wrap at the terminal's width
    assert "approve(edited)" in flat
    assert 'argumentsedited:{"order_id":"42","amount":5}->{"order_id":"42","amount":2}' in flat, out


def test_answer_gives_the_model_the_text_and_skips_the_tool(cli: Cli) -> None:
    code, _, err = cli("answer", "ticket-42")
    assert code == 2 and "--output" in err
    code, out, _ = cli("answer", "ticket-42", "--output", "refunded by phone", "--by", "carol")
    assert code == 0
    assert "answered refund (call-refund) in run ticket-42" in out
    code, _, err = cli("approve", "ticket-42", "call-refund")
    assert code == 1 and "already answered by carol" in err
    code, _, err = cli("resume", "ticket-42", "--agent", f"{AGENTS_MODULE}:finish")
    assert code == 0, err
    detail = cli.json("runs", "show", "ticket-42")
    refund = next(s for s in detail["timeline"] if s["name"] == "refund")
    assert refund["output"] == "refunded by phone"
    output = next(
        c
        for c in detail["conversation"]
        if c["role"] == "tool_output" and c["call_id"] == "call-refund"
    )
    assert (output["status"], output["text"]) == ("answered", "refunded by phone")
    code, out, _ = cli("runs", "show", "ticket-42")
    flat = "".join(out.split())
    assert "notrun;themodelwasgiven:refundedbyphone" in flat
    assert "answered,themodelwasgiven:refundedbyphone" in flat


def test_cancel_marks_the_run_and_refuses_twice(cli: Cli) -> None:
    code, out, _ = cli("cancel", "ticket-42")
    assert code == 0
    assert "cancelled run ticket-42" in out
    assert cli.json("runs", "show", "ticket-42")["status"] == "cancelled"
    code, _, err = cli("cancel", "ticket-42")
    assert code == 1
    assert "already cancelled" in err
    assert cli("cancel", "hello")[0] == 1


def test_runs_show_says_why_a_run_failed(cli: Cli) -> None:
    failure = {"error": "QuotaError: quota exceeded"}
    asyncio.run(RunStateStore(cli.db).set_status("hello", "failed", metadata=failure))
    code, out, err = cli("runs", "show", "hello")
    assert code == 0, err
    assert "error: QuotaError: quota exceeded" in out
    assert cli.json("runs", "show", "hello")["error"] == "QuotaError: quota exceeded"
    code, out, _ = cli("runs", "list")
    assert "ERROR" in out and "QuotaError: quota exceeded" in out
    listed = {run["run_id"]: run["error"] for run in cli.json("runs", "list")}
    assert listed == {"hello": "QuotaError: quota exceeded", "ticket-42": None}


def test_fork_starts_a_new_run_from_a_version(cli: Cli) -> None:
    code, out, err = cli("fork", "ticket-42", "--from-version", "1", "--new-run-id", "ticket-42b")
    assert code == 0, err
    assert "as ticket-42b" in out
    forked = cli.json("runs", "show", "ticket-42b")
    assert forked["status"] == "waiting"
    assert [p["call_id"] for p in forked["pending_approvals"]] == ["call-refund"]
    code, _, err = cli("fork", "ticket-42", "--from-version", "7")
    assert code == 1
    assert "7" in err
    code, _, err = cli("fork", "ticket-42")
    assert code == 2
    assert "--at" in err


def test_export_and_import_round_trip(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "exported.json"
    code, _, err = cli("export", "ticket-42", "-o", str(target))
    assert code == 0, err
    doc = json.loads(target.read_text())
    assert doc["$schemaVersion"] == "1.21"
    assert doc["current_agent"]["name"] == "support"

    code, out, err = cli("import", str(target), "--run-id", "copy")
    assert code == 0, err
    assert "version 1" in out
    copy = cli.json("runs", "show", "copy")
    assert copy["status"] == "waiting"
    assert [p["call_id"] for p in copy["pending_approvals"]] == ["call-refund"]

    code, out, _ = cli("export", "ticket-42")
    assert json.loads(out) == doc

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = cli("import", str(broken))
    assert code == 1
    assert "not valid JSON" in err


def test_export_typescript_translates_the_state(cli: Cli) -> None:
    code, out, err = cli("export", "ticket-42", "--lang", "typescript")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["currentAgent"]["name"] == "support"
    assert "current_agent" not in doc


def test_db_upgrade_creates_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = main(["db", "upgrade", "--db", url])
    assert code == 0
    assert "revision" in capsys.readouterr().out
    engine = sa.create_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"timestep_runs", "timestep_run_states", "timestep_approvals"} <= names


def test_demo_forwards_model_and_db(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str] | None] = []

    def fake_main(argv: list[str] | None = None) -> int:
        calls.append(argv)
        return 3

    fake = types.ModuleType("timestep.demo")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timestep.demo", fake)
    monkeypatch.setattr("timestep.demo", fake, raising=False)
    code = main(["demo", "--model", "local/qwen", "--db", "sqlite:///x.db"])
    assert code == 3
    assert calls == [["--model", "local/qwen", "--db", "sqlite:///x.db"]]


def _timestep(
    tmp_path: Path, db_url: str, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timestep.cli", *args],
        cwd=tmp_path,
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_durable_run_pauses_a_worker_resumes_it_and_show_has_step_timings(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_agents_module(tmp_path)
    started = _timestep(tmp_path, db_url, "run", f"{AGENTS_MODULE}:start", "Refund 42",
                        "--run-id", "sub-1")  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert "waiting for 1 approval" in started.stderr
    assert "call-refund" in started.stderr

    again = _timestep(tmp_path, db_url, "run", f"{AGENTS_MODULE}:start", "Refund 42",
                      "--run-id", "sub-1")  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stderr

    cli = Cli(db_url, capsys)
    assert cli("approve", "sub-1", "--by", "frank")[0] == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "worker", "--agent", f"{AGENTS_MODULE}:finish"],
        cwd=tmp_path, env=cli_env(db_url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        detail = cli.json("runs", "show", "sub-1")
        while detail["status"] != "done" and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            time.sleep(0.5)
            detail = cli.json("runs", "show", "sub-1")
    finally:
        stop_process(worker)
    assert detail["status"] == "done"
    assert detail["final_output"] == "Refunded 5 on order 42.", json.dumps(detail, indent=1)
    names = [step["name"] for step in detail["durable_steps"]]
    assert "timestep.tool:lookup" in names and "timestep.tool:refund" in names
    assert {step["segment"] for step in detail["durable_steps"]} == {"sub-1@0", "sub-1@1"}
    refund = next(step for step in detail["timeline"] if step["name"] == "refund")
    assert refund["output"] == "refunded 5 on order 42"
    assert isinstance(refund["duration_ms"], int)
    code, out, _ = cli("runs", "show", "sub-1")
    assert code == 0
    assert "durable steps" in out and "timestep.tool:refund" in out

    # step 2 of the resumed segment is the approved refund: re-running it is an explicit choice
    code, out, err = cli("fork", "sub-1", "--at", "2", "--new-run-id", "sub-2")
    assert code == 1 and "approved tool calls again" in err and "--rerun-approved" in err
    code, out, err = cli("fork", "sub-1", "--at", "2", "--new-run-id", "sub-2", "--rerun-approved")
    assert code == 0, err
    assert "segment sub-2@" in out
    code, out, err = cli("fork", "sub-1", "--at", "99", "--new-run-id", "sub-3")
    assert code == 1 and "no step 99 to fork at" in err


def test_run_stream_prints_the_answer(tmp_path: Path, db_url: str) -> None:
    write_agents_module(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "timestep.cli",
            "run",
            f"{AGENTS_MODULE}:chat",
            "Hi",
            "--stream",
            "--run-id",
            "chat-1",
        ],
        cwd=tmp_path,
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Hello from timestep." in proc.stdout


def test_bad_agent_reference_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "run", "no_such_module_xyz:agent", "Hi"],
        cwd=tmp_path,
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no_such_module_xyz" in lines[0]


@pytest.mark.postgres
def test_runs_list_on_postgres(
    postgres_db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agents = agents_module(tmp_path)

    async def prepare() -> None:
        async with RunStateStore(postgres_db_url) as store:
            await interrupted_run(store, "pg-ticket", agents.start())

    asyncio.run(prepare())
    code = main(["--db", postgres_db_url, "runs", "list", "--json"])
    assert code == 0
    runs = {run["run_id"]: run for run in json.loads(capsys.readouterr().out)}
    assert runs["pg-ticket"]["status"] == "waiting"
    assert runs["pg-ticket"]["pending_approvals"] == 1


def test_import_a_typescript_state_and_export_it_for_python(cli: Cli, tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "vectors" / "single_approval" / "typescript.json"
    code, out, err = cli("import", str(source), "--run-id", "from-ts")
    assert code == 0, err
    assert "typescript" in out
    detail = cli.json("runs", "show", "from-ts")
    assert detail["language"] == "typescript"
    assert detail["status"] == "waiting"
    assert [p["tool_name"] for p in detail["pending_approvals"]] == ["refund"]
    assert [s["status"] for s in detail["timeline"] if s["kind"] == "tool"] == ["pending_approval"]

    code, out, err = cli("export", "from-ts", "--lang", "python")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["$schemaVersion"] == "1.21"
    assert doc["current_agent"]["name"] == detail["agent_name"]


def test_runs_show_works_on_a_file_store(
    tmp_path: Path, agents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ticket.json"

    async def prepare() -> None:
        async with RunStateStore(str(path)) as store:
            await interrupted_run(store, "ticket", agents.start())

    asyncio.run(prepare())
    cli = Cli(str(path), capsys)
    detail = cli.json("runs", "show", "ticket")
    assert detail["status"] == "waiting"
    assert detail["decisions"] == []
    assert [p["call_id"] for p in detail["pending_approvals"]] == ["call-refund"]
    code, _, err = cli("approve", "ticket")
    assert code == 1
    assert "not a database" in err
