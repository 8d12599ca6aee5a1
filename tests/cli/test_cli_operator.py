"""The ``timestep`` command as an operator meets it: quiet one-line errors, --version, a fast
--help that does not import the Agents SDK, shell completion, runs list filters / paging / watch,
the conversation in runs show, delete and prune, store typos, the worker's readiness line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli_support import (
    AGENTS_MODULE,
    agents_module,
    cli_env,
    finished_run,
    interrupted_run,
    reset_durable,
)
from harness.processes import read_until, stop_process
from timestep.cli import main
from timestep.state import RunStateStore

BROKEN_AGENT = '''

def broken() -> Agent:
    """Its model has nothing scripted: the first model call fails."""
    return Agent(name="broken", model=ScriptedModel([]))
'''


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TIMESTEP_LOG_FILE", str(tmp_path / "cli.log"))
    reset_durable()
    yield
    reset_durable()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'timestep.db'}"


@pytest.fixture
def agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    module = agents_module(tmp_path)
    with (tmp_path / f"{AGENTS_MODULE}.py").open("a") as source:
        source.write(BROKEN_AGENT)
    return module


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_cli(tmp_path: Path, db_url: str, *args: str, timeout: int = 180) -> Any:
    env = {**cli_env(db_url), "TIMESTEP_LOG_FILE": str(tmp_path / "cli.log")}
    return subprocess.run(
        [sys.executable, "-m", "timestep.cli", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_importing_the_cli_does_not_import_the_agents_sdk_or_dbos() -> None:
    code = (
        "import sys, timestep.cli\n"
        "roots = ('agents', 'dbos', 'openai')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in roots)\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_and_version_do_not_import_the_agents_sdk() -> None:
    code = (
        "import sys\n"
        "from timestep.cli import main\n"
        "for argv in (['--help'], ['runs', '--help'], ['demo', '--help'], ['--version']):\n"
        "    assert main(argv) == 0, argv\n"
        "print('agents' in sys.modules, 'dbos' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
    assert "timestep 0." in done.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"timestep {version('timestep')}"


def test_shell_completion_completes_commands(tmp_path: Path, db_url: str) -> None:
    env = {
        **cli_env(db_url),
        "_TIMESTEP_COMPLETE": "complete_bash",
        "COMP_WORDS": "timestep ru",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'timestep'; "
         "from timestep.cli import main; sys.exit(main())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "runs" in done.stdout.split(), (done.stdout, done.stderr)
    shown = run_cli(tmp_path, db_url, "--show-completion", "bash")
    assert "_TIMESTEP_COMPLETE" in shown.stdout


def test_demo_help_shows_the_demos_real_store(capsys: pytest.CaptureFixture[str]) -> None:
    from timestep import demo
    from timestep.cli._app import DEMO_DB

    assert demo.DEFAULT_DB == DEMO_DB
    code, out, _ = cli(capsys, "demo", "--help")
    assert code == 0
    assert "timestep-demo/timestep.db" in " ".join(out.split())
    assert "local/qwen2.5-0.5b" in out


def test_a_failing_agent_prints_one_line_and_logs_the_rest(
    tmp_path: Path, db_url: str, agents: Any
) -> None:
    done = run_cli(tmp_path, db_url, "run", f"{AGENTS_MODULE}:broken", "hi", "--run-id", "b1")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["run b1", lines[1]], done.stderr
    assert "no scripted steps remain" in lines[1]
    assert "Traceback" not in done.stderr and "WARNING" not in done.stderr
    log = (tmp_path / "cli.log").read_text()
    assert "Traceback" in log  # DBOS's report went to the log file
    verbose = run_cli(
        tmp_path, db_url, "-v", "run", f"{AGENTS_MODULE}:broken", "hi", "--run-id", "b2"
    )
    assert verbose.returncode == 1
    assert "Traceback" in verbose.stderr


def test_streaming_prints_no_library_warnings(tmp_path: Path, db_url: str, agents: Any) -> None:
    done = run_cli(tmp_path, db_url, "run", f"{AGENTS_MODULE}:chat", "hi", "--stream")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello from timestep."
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("run run-")
    assert lines[1:] in ([], ["[run done]"]), done.stderr  # nothing from DBOS or the SDK


def test_a_typoed_store_is_refused_and_reads_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "--db", "timestep.dbb", "runs", "list")
    assert code == 1
    assert "'timestep.dbb' is neither a database URL nor a .json file" in err
    assert "sqlite:///timestep.dbb" in err
    assert not (tmp_path / "timestep.dbb").exists()

    url = f"sqlite:///{tmp_path / 'absent.db'}"
    code, _, err = cli(capsys, "--db", url, "runs", "list")
    assert code == 0
    assert f"no runs in {url}" in err and "does not exist yet" in err
    code, _, err = cli(capsys, "--db", url, "runs", "show", "x")
    assert code == 1
    assert f"no run 'x': store {url} does not exist" in err
    code, _, err = cli(capsys, "--db", url, "approve", "x")
    assert code == 1 and url in err
    assert not (tmp_path / "absent.db").exists()


@pytest.fixture
async def many(db_url: str, agents: Any) -> str:
    """Five runs: three waiting (two agents' worth), two done."""
    async with RunStateStore(db_url) as store:
        for run_id in ("t/1", "t/2", "t/3"):
            await interrupted_run(store, run_id, agents.start())
        for run_id in ("hello-1", "hello-2"):
            await finished_run(store, run_id, agents.chat())
    return db_url


def test_runs_list_filters_and_pages(many: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--db", many, "runs", "list", "--json")
    assert code == 0
    every = [run["run_id"] for run in json.loads(out)]
    assert sorted(every) == ["hello-1", "hello-2", "t/1", "t/2", "t/3"]
    code, out, _ = cli(capsys, "--db", many, "runs", "list", "--agent", "greeter", "--json")
    assert sorted(run["run_id"] for run in json.loads(out)) == ["hello-1", "hello-2"]
    code, out, _ = cli(capsys, "--db", many, "runs", "list", "--status", "waiting", "--json")
    assert sorted(run["run_id"] for run in json.loads(out)) == ["t/1", "t/2", "t/3"]

    code, out, err = cli(capsys, "--db", many, "runs", "list", "--limit", "2")
    assert code == 0
    assert "runs 1-2 of 5" in err and "next page: --offset 2" in err
    assert every[0] in out and every[2] not in out
    code, out, err = cli(capsys, "--db", many, "runs", "list", "--limit", "2", "--offset", "4")
    assert "runs 5-5 of 5" in err and "next page" not in err
    assert every[4] in out

    code, out, _ = cli(capsys, "--db", many, "runs", "list", "--since", "1h", "--json")
    assert len(json.loads(out)) == 5
    code, out, err = cli(capsys, "--db", many, "runs", "list", "--since", "2999-01-01")
    assert code == 0
    assert f"no runs with updated since 2999-01-01 in {many}" in err
    code, _, err = cli(capsys, "--db", many, "runs", "list", "--since", "soon")
    assert code == 2 and "--since" in err


def test_runs_list_watch_shows_new_runs_live(tmp_path: Path, many: str, agents: Any) -> None:
    env = {**cli_env(many), "TIMESTEP_LOG_FILE": str(tmp_path / "cli.log")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "runs", "list", "--watch", "--interval", "0.3"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = ""
        while "5 run(s)" not in seen:
            seen += proc.stdout.readline()
        asyncio.run(_one_more(many, agents))
        while "6 run(s)" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        while "late-run" not in seen:
            seen += proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _one_more(url: str, agents: Any) -> None:
    async with RunStateStore(url) as store:
        await finished_run(store, "late-run", agents.chat())


def test_runs_show_shows_the_conversation_and_decisions(
    many: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "--db", many, "reject", "t/1", "--reason", "too much", "--by", "al"
    )
    assert code == 0, err
    code, out, _ = cli(capsys, "--db", many, "runs", "show", "t/1", "--json")
    conversation = json.loads(out)["conversation"]
    assert conversation[0] == {**conversation[0], "role": "user", "text": "Refund order 42"}
    calls = [(i["role"], i["name"], i["status"]) for i in conversation if i["role"] == "tool_call"]
    assert calls == [("tool_call", "lookup", "done"), ("tool_call", "refund", "rejected")]
    refund = conversation[-1]
    assert (refund["decided_by"], refund["reason"]) == ("al", "too much")
    code, out, _ = cli(capsys, "--db", many, "runs", "show", "t/1")
    text = " ".join(out.split())
    assert "user Refund order 42" in text
    assert 'lookup({"order_id":"42"})' in text
    assert "tool output order 42: paid 5" in text
    assert "[rejected by al]" in text


def test_approve_says_what_happens_next(many: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--db", many, "approve", "t/2")
    assert code == 0
    assert "approved refund (call-refund) in run t/2" in out
    assert "every pending call is decided" in err
    assert "a 'timestep worker' on this store resumes the run" in err
    assert "timestep resume t/2 --agent" in err


def test_runs_delete_and_prune(many: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--db", many, "runs", "delete", "t/3", "--yes")
    assert code == 0
    assert f"deleted run t/3 from {many}" in out
    code, _, err = cli(capsys, "--db", many, "runs", "delete", "t/3", "--yes")
    assert code == 1
    assert f"no run 't/3' in {many}" in err
    code, _, err = cli(capsys, "--db", many, "runs", "delete", "t/2")
    assert code == 2 and "--yes" in err  # not a terminal: no silent deletion

    code, out, err = cli(capsys, "--db", many, "runs", "prune", "--older-than", "1d")
    assert code == 0
    assert "no cancelled/done/failed runs older than 1d" in err
    time.sleep(1.1)
    code, out, err = cli(capsys, "--db", many, "runs", "prune", "--older-than", "1s", "--dry-run")
    assert sorted(out.split()) == sorted(
        ["would", "delete", "hello-1", "would", "delete", "hello-2"]
    )
    code, out, err = cli(capsys, "--db", many, "runs", "prune", "--older-than", "1s", "--yes")
    assert code == 0 and "deleted 2 run(s)" in out
    code, out, _ = cli(capsys, "--db", many, "runs", "list", "--json")
    assert sorted(run["run_id"] for run in json.loads(out)) == ["t/1", "t/2"]  # waiting: kept
    code, _, err = cli(capsys, "--db", many, "runs", "prune", "--older-than", "soon")
    assert code == 2
    code, _, err = cli(capsys, "--db", many, "runs", "prune", "--older-than", "1s", "--status", "x")
    assert code == 2 and "unknown status x" in err


def test_worker_prints_readiness_and_each_segment(tmp_path: Path, db_url: str, agents: Any) -> None:
    env = {**cli_env(db_url), "TIMESTEP_LOG_FILE": str(tmp_path / "cli.log")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "worker", "--agent", f"{AGENTS_MODULE}:finish"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        lines = read_until(proc, "worker ready on", [], deadline)
        assert f"worker ready on {db_url}: agents support" in lines[-1]
        # a run that was not started durably cannot be resumed by a worker: said once, no crash
        asyncio.run(_paused_and_approved(db_url, agents, "plain"))
        started = run_cli(
            tmp_path, db_url, "run", f"{AGENTS_MODULE}:start", "Refund", "--run-id", "t/9"
        )
        assert started.returncode == 0, started.stderr
        asyncio.run(_approve(db_url, "t/9"))
        read_until(proc, "segment t/9@1", lines, deadline)
        assert "run t/9, agent support, done in" in lines[-1]
        assert sum("cannot resume run plain" in line for line in lines) == 1
        assert proc.poll() is None
    finally:
        stop_process(proc, sig=signal.SIGINT)


async def _paused_and_approved(url: str, agents: Any, run_id: str) -> None:
    async with RunStateStore(url) as store:
        await interrupted_run(store, run_id, agents.start())
        await store.decide(run_id, "call-refund", "approve", decided_by="op")


async def _approve(url: str, run_id: str) -> None:
    async with RunStateStore(url) as store:
        await store.decide(run_id, "call-refund", "approve", decided_by="op")


def test_log_file_location_is_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "$TIMESTEP_LOG_FILE" in flat and "--version" in flat
    assert "--install-completion" in flat
    assert os.environ["TIMESTEP_LOG_FILE"].endswith("cli.log")


def test_the_demo_prints_the_command_that_lists_its_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env("").items() if k != "TIMESTEP_DB"}
    env["TIMESTEP_LOG_FILE"] = str(tmp_path / "cli.log")
    demo = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "demo", "--model", "scripted", "--run-id", "d-1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    [listing] = [line for line in demo.stdout.splitlines() if line.startswith("List runs:")]
    command = listing.removeprefix("List runs:").split()
    assert command[:3] == ["timestep", "--db", "sqlite:///timestep-demo/timestep.db"]
    listed = subprocess.run(
        [sys.executable, "-m", "timestep.cli", *command[1:]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "d-1" in listed.stdout and "done" in listed.stdout
