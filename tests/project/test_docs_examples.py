"""Every code example of the documentation site runs here, offline, and its output is checked.

The docs include the files under ``docs/examples/`` verbatim (``--8<--``). Each example takes its
model as an argument (default: a hosted or local model name); these tests run it in a fresh
subprocess (durable runs launch DBOS once per process) in a temporary directory, inject a scripted
model (``agents.testing.ScriptedModel``) or point it at one of the fake servers of
``tests/harness/``, and assert on what it printed and stored. The shell examples run their
``timestep`` commands in this process (``InProcessCli``), each as a new process would. The last
tests keep the docs honest in the other direction: no code block in a page that is not an
included, tested file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.fake_ollama import FakeOllama
from harness.fake_search import FakeSearch, Hit, fake_search_server
from harness.ts_examples import compile_examples

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
TS = ROOT / "ts"

# Written next to each test's driver as ``docs_helpers.py``. The model scripts decide from the
# conversation what to do next, so one script serves every process of a run (start, resume,
# worker) whatever was replayed from checkpoints.
HELPERS = '''
from agents import set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

set_tracing_disabled(True)


def tool_outputs(call: ModelCall) -> list[str]:
    return [
        str(item.get("output"))
        for item in call.input
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]


def calls_then_echo(*calls) -> ScriptedModel:
    """Calls the given (name, arguments) tools at once, then answers with their outputs."""

    def respond(call: ModelCall) -> ModelStep:
        outputs = tool_outputs(call)
        if not outputs:
            return ModelStep(
                output=[
                    function_call(name, args, call_id=f"call_{name}_{i}")
                    for i, (name, args) in enumerate(calls)
                ]
            )
        return ModelStep(output=[assistant_message("Done: " + " | ".join(outputs))])

    return ScriptedModel([ModelStep.respond(respond) for _ in range(100)])  # many runs share it


def one_call_per_turn(name, arguments) -> ScriptedModel:
    """Calls ``name`` with ``arguments[n]`` in turn n, then answers."""

    def respond(call: ModelCall) -> ModelStep:
        n = len(tool_outputs(call))
        if n < len(arguments):
            return ModelStep(output=[function_call(name, arguments[n], call_id=f"call_{n}")])
        return ModelStep(output=[assistant_message(f"{n} calls done")])

    return ScriptedModel([ModelStep.respond(respond) for _ in range(len(arguments) + 2)])
'''


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "OLLAMA_", "TIMESTEP_", "FIRECRAWL_"))
    }
    env["PYTHONPATH"] = os.pathsep.join([".", str(EXAMPLES)])
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


def _driver(cwd: Path, code: str) -> list[str]:
    (cwd / "docs_helpers.py").write_text(HELPERS)
    return [sys.executable, "-c", "import asyncio\nfrom docs_helpers import *\n" + code]


def run_python(
    code: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240
) -> list[str]:
    """Run ``code`` in a fresh interpreter in ``cwd`` and return its stdout lines."""
    done = subprocess.run(
        _driver(cwd, textwrap.dedent(code)),
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"example failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout.splitlines()


# the examples' relative stores: a process keeps engines and clients by URL, so an in-process test
# forgets them before and after (another directory, other files)
RELATIVE_STORES = ("sqlite:///timestep.db", "sqlite:///timestep-demo/timestep.db")
# the loggers main() configures (restored after an in-process test)
LOGGERS = ("dbos", "openai.agents", "timestep", "timestep.segments", "uvicorn", "alembic")


class InProcessCli:
    """``timestep`` through the CLI's ``main(argv)`` in this process, as a shell would run it.

    ``use(cwd, env)`` makes this process that shell: its environment, working directory and
    import path (``cwd`` and the examples). After each command DBOS is shut down, as the end of a
    process would; a fresh interpreter per command would cost an import and a DBOS launch each.
    The fixture restores the environment, the loggers ``main`` configures and the imported
    modules of ``cwd`` and the examples afterwards.
    """

    def __init__(self, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capfd, self.monkeypatch = capfd, monkeypatch
        self.cwd: Path | None = None

    def use(self, cwd: Path, env: dict[str, str]) -> None:
        for key in list(os.environ):
            if key not in env:
                self.monkeypatch.delenv(key)
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        if self.cwd != cwd:
            self.cwd = cwd
            self.monkeypatch.chdir(cwd)
            self.monkeypatch.syspath_prepend(str(EXAMPLES))
            self.monkeypatch.syspath_prepend(str(cwd))

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        from harness.cli_support import reset_durable
        from timestep.cli import main

        self.capfd.readouterr()
        try:
            code = main(argv)
        finally:
            reset_durable()  # as the process would end: the next command may use another store
        out, err = self.capfd.readouterr()
        return code, out, err


@pytest.fixture
def in_process(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessCli]:
    from timestep.durable._runtime import RUNTIME
    from timestep.state._engine import dispose_engine

    def forget() -> None:
        for url in RELATIVE_STORES:  # they name files in this test's directory
            RUNTIME.forget(url)
            dispose_engine(url)

    loggers = {name: logging.getLogger(name) for name in LOGGERS}
    saved = {name: (lg.handlers[:], lg.propagate, lg.level) for name, lg in loggers.items()}
    modules = set(sys.modules)
    cli = InProcessCli(capfd, monkeypatch)
    forget()
    try:
        yield cli
    finally:
        forget()
        for name, (handlers, propagate, level) in saved.items():
            for handler in loggers[name].handlers:
                if handler not in handlers:
                    handler.close()
            loggers[name].handlers[:] = handlers
            loggers[name].propagate, loggers[name].level = propagate, level
        roots = [str(EXAMPLES)] + ([str(cli.cwd)] if cli.cwd else [])
        for name in set(sys.modules) - modules:  # the examples' and the test's own modules
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(tuple(roots)):
                del sys.modules[name]


# A shell script's ``timestep`` commands: bash runs the script with ``timestep`` a function that
# records each call's arguments and environment (every expansion and quote is bash's own), then
# the test runs them in process in order.
RECORDER = r"""
timestep() {
  _n=$(( ${_n:-0} + 1 ))
  printf '%s\0' "$@" > "$TIMESTEP_TEST_CALLS/$_n.argv"
  env -0 > "$TIMESTEP_TEST_CALLS/$_n.env"
}
. "$0"
"""


def _recorded_calls(
    script: Path, cwd: Path, env: dict[str, str]
) -> list[tuple[list[str], dict[str, str]]]:
    calls = cwd / "recorded-calls"
    calls.mkdir()
    done = subprocess.run(
        ["bash", "-c", RECORDER, str(script)],
        cwd=cwd, env={**env, "TIMESTEP_TEST_CALLS": str(calls)}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = []
    for n in range(1, len(list(calls.glob("*.argv"))) + 1):
        argv = (calls / f"{n}.argv").read_text().split("\0")[:-1]
        items = (calls / f"{n}.env").read_text().split("\0")[:-1]
        call_env = dict(item.split("=", 1) for item in items)
        call_env.pop("TIMESTEP_TEST_CALLS")
        recorded.append((argv, call_env))
    return recorded


# ------------------------------------------------------------------------- getting started


def test_first_run(tmp_path: Path) -> None:
    out = run_python(
        """
        import first_run
        model = calls_then_echo(("order_status", {"order_id": "42"}))
        asyncio.run(first_run.main(model, db="sqlite:///runs.db", run_id="order-42"))
        """,
        tmp_path,
    )
    assert out == [
        "answer: Done: order 42: shipped on Monday, arriving Thursday",
        "run order-42: done, version 1",
    ]
    assert (tmp_path / "runs.dbos.sqlite").exists()  # DBOS's checkpoints, next to the store


def test_first_run_can_be_run_again(tmp_path: Path) -> None:
    """Each run of the example is a new run (a run id is used once)."""
    out = run_python(
        """
        import first_run
        for _ in range(2):
            model = calls_then_echo(("order_status", {"order_id": "42"}))
            asyncio.run(first_run.main(model, db="sqlite:///runs.db"))
        """,
        tmp_path,
    )
    runs = [line for line in out if line.startswith("run order-42-")]
    assert len(runs) == 2 and runs[0] != runs[1]
    assert all(line.endswith(": done, version 1") for line in runs)


def test_examples_take_a_model_option_defaulting_to_the_local_model() -> None:
    for name in (
        "first_run",
        "first_approval",
        "crash_safe",
        "handoff_start",
        "workers",
        "store_explicit",
        "local_model",
    ):
        text = (EXAMPLES / f"{name}.py").read_text()
        assert 'add_argument("--model", default="local/qwen2.5-0.5b"' in text, name
        assert '"gpt-4.1"' not in text.split("__main__")[0].split("def build_agent")[-1], name
    for name in ("models", "web_search_agent"):  # Ollama examples: their own default
        assert 'add_argument("--model"' in (EXAMPLES / f"{name}.py").read_text(), name
    helped = subprocess.run(
        [sys.executable, str(EXAMPLES / "first_approval.py"), "approve"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert helped.returncode == 2
    assert "needs the RUN_ID that 'start' printed" in helped.stderr


def test_first_approval_in_three_processes(tmp_path: Path) -> None:
    model = 'calls_then_echo(("refund", {"order_id": "42", "amount": 25}))'
    out = {}
    for step in ("start", "approve", "finish"):
        out[step] = run_python(
            f"""
            import first_approval
            asyncio.run(first_approval.main({step!r}, {model}, db="sqlite:///runs.db"))
            """,
            tmp_path,
        )
    assert out["start"] == [
        'needs approval: refund {"order_id":"42","amount":25}',
        "run ticket-42 is waiting",
    ]
    assert out["approve"] == ["approved call_refund_0; every call decided: True"]
    assert out["finish"] == ["answer: Done: refunded $25 on order 42", "run ticket-42 is done"]


def test_install_commands_are_valid_shell() -> None:
    # Installing is what the test run itself depends on; the script is only syntax-checked.
    script = EXAMPLES / "install.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert "make demo" in script.read_text() and "make test" in script.read_text()


def test_cli_tour(tmp_path: Path, in_process: InProcessCli) -> None:
    (tmp_path / "scripted_support.py").write_text(
        "import first_approval\nfrom docs_helpers import calls_then_echo\n\n\n"
        "def agent():\n"
        '    model = calls_then_echo(("refund", {"order_id": "42", "amount": 25}))\n'
        "    return first_approval.build_agent(model)\n"
    )
    (tmp_path / "docs_helpers.py").write_text(HELPERS)
    env = _env({"AGENT": "scripted_support:agent", "COLUMNS": "120"})
    calls = _recorded_calls(EXAMPLES / "cli_tour.sh", tmp_path, env)
    assert [argv[:1] for argv, _ in calls] == [
        ["run"],
        ["approve"],
        ["resume"],
        ["runs"],
        ["export"],
    ]
    out = ""  # `timestep run` reports the pause on stderr
    for argv, call_env in calls:
        in_process.use(tmp_path, call_env)
        code, stdout, stderr = in_process(argv)
        out += stdout + stderr
        assert code == 0, f"timestep {shlex.join(argv)} failed ({code}):\n{out}"
    assert "run ticket-42 is waiting for 1 approval(s):" in out
    assert "approved refund (call_refund_0) in run ticket-42" in out
    assert "Done: refunded $25 on order 42" in out
    assert re.search(r"ticket-42@1\s+\d+\s+timestep\.tool:refund", out)  # a checkpointed step
    exported = json.loads((tmp_path / "ticket-42.typescript.json").read_text())
    assert exported["$schemaVersion"] == "1.22" and "currentAgent" in exported


# ---------------------------------------------------------------------------------- guarantees


@pytest.mark.timeout(900)
def test_crash_safe_run_recovers_without_paying_twice(tmp_path: Path) -> None:
    """Run (killed mid-tool) and recover, twice in one directory: each time a new run."""
    invoices = [{"invoice": f"A-{n}"} for n in (1, 2, 3)]
    model = f"one_call_per_turn('pay_invoice', {invoices!r})"
    started = []
    for _ in range(2):
        crashed = subprocess.run(
            _driver(
                tmp_path,
                f"import crash_safe\nasyncio.run(crash_safe.main('run', {model}, "
                "'sqlite:///runs.db'))",
            ),
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        started.append(crashed.stdout.strip())
        out = run_python(
            f"""
            import crash_safe
            asyncio.run(crash_safe.main("recover", {model}, "sqlite:///runs.db"))
            """,
            tmp_path,
        )
        # A-2's tool call was in flight at the crash: it ran twice, with one key, and paid once.
        assert out == [
            "attempts: {'A-1': 1, 'A-2': 2, 'A-3': 1}",
            "charges:  {'A-1': 1, 'A-2': 1, 'A-3': 1}",
        ]
    assert all(re.fullmatch(r"run month-end-[0-9a-f]{6}", line) for line in started), started
    assert started[0] != started[1]


# ----------------------------------------------------------------------------------- use cases


def test_store_explicit_style(tmp_path: Path) -> None:
    out = run_python(
        """
        import store_explicit
        model = calls_then_echo(("refund", {"order_id": "42", "amount": 25}))
        asyncio.run(store_explicit.main(model, path="state.json"))
        """,
        tmp_path,
    )
    assert out == [
        "answer: Done: refunded $25 on order 42",
        "v1 waiting pending=1",
        "v2 done pending=0",
    ]


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the TypeScript package built (``ts/dist``)."""
    binary = shutil.which("node")
    if binary is None or not (TS / "node_modules" / "@openai" / "agents").is_dir():
        pytest.fail("the hand-off example needs node and `npm --prefix ts ci` (make ts-test)")
    sources = [*TS.glob("src/**/*.ts"), TS / "tsconfig.json"]
    built = TS / "dist" / "index.js"
    stamp = built.stat().st_mtime if built.exists() else 0.0
    if any(path.stat().st_mtime > stamp for path in sources):
        npm = shutil.which("npm")
        assert npm is not None
        subprocess.run([npm, "--prefix", str(TS), "run", "build"], check=True, capture_output=True)
    return binary


def run_node(code: str, cwd: Path, node: str, timeout: float = 120) -> list[str]:
    """Run the ES module ``code`` with node in ``cwd`` (next to the compiled TS examples)."""
    (cwd / "driver.mjs").write_text(textwrap.dedent(code))
    done = subprocess.run(
        [node, "driver.mjs"], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


TS_ECHO = """
    import { ScriptedModel, assistantMessage, functionCall, modelResponder }
      from '@openai/agents-core/testing';
    // Calls the given tool once, then answers with the tool outputs (as calls_then_echo).
    export function callsThenEcho(name, args) {
      const respond = modelResponder((call) => {
        const outputs = call.request.input
          .filter((item) => item.type === 'function_call_result')
          .map((item) => item.output.text);
        return outputs.length === 0
          ? [functionCall(name, args, { callId: `call_${name}_0` })]
          : [assistantMessage(`Done: ${outputs.join(' | ')}`)];
      });
      return new ScriptedModel([respond, respond, respond]);
    }
"""


@pytest.fixture
def ts_examples(tmp_path: Path, node: str) -> Path:
    """docs/examples/*.ts type-checked with ``strict`` and compiled into ``tmp_path``."""
    compile_examples(tmp_path, node)
    (tmp_path / "ts_helpers.mjs").write_text(textwrap.dedent(TS_ECHO))
    return tmp_path


def test_seed_in_python_and_typescript(tmp_path: Path, ts_examples: Path, node: str) -> None:
    """The seed usage (docs: Python and TypeScript side by side) prints the same in both."""
    assert (ts_examples / "seed.ts").exists()  # compiled: seed.js
    python = run_python(
        """
        import seed
        model = calls_then_echo(("refund", {"order_id": "42", "amount": 5}))
        asyncio.run(seed.main(model, "py_state.json", "sqlite:///py.db"))
        """,
        tmp_path,
    )
    typescript = run_node(
        """
        import { callsThenEcho } from './ts_helpers.mjs';
        import { main } from './seed.js';
        await main(callsThenEcho('refund', { order_id: '42', amount: 5 }), 'ts_state.json',
          'sqlite:///ts.db');
        """,
        ts_examples,
        node,
    )
    expected = ["paused: refund", "answer: Done: refunded $5 on order 42"]
    assert python == expected
    assert typescript == expected
    show = run_python(
        """
        from timestep import RunStateStore
        async def show():
            for name in ("py_state", "ts_state"):
                versions = await RunStateStore(name + ".json").versions()
                print(name, [(v.version, v.status, v.language) for v in versions])
        asyncio.run(show())
        """,
        tmp_path,
    )
    assert show == [
        "py_state [(1, 'waiting', 'python'), (2, 'done', 'python')]",
        "ts_state [(1, 'waiting', 'typescript'), (2, 'done', 'typescript')]",
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_durable_typescript_run_and_worker_recipe(
    tmp_path: Path, ts_examples: Path, node: str
) -> None:
    """docs/durable-typescript.md (durable_ts.ts): a durable TS run pauses, is approved and
    continues durably (on the embedded PGlite beside a SQLite store); the recipe's worker
    finishes a second run."""
    run = run_node(
        """
        import { callsThenEcho } from './ts_helpers.mjs';
        import { main } from './durable_ts.js';
        await main(callsThenEcho('refund', { order_id: '42', amount: 25 }), 'sqlite:///durable.db',
          'ticket-1');
        """,
        ts_examples,
        node,
        timeout=600,
    )
    # The idempotency key is Python's formula: sha256("<run_id>:<call_id>").
    key = hashlib.sha256(b"ticket-1:call_refund_0").hexdigest()[:12]
    assert run == [
        "ticket-1: waiting on refund",
        f"answer: Done: refunded $25 on order 42 (key {key})",
    ]
    paused = run_node(
        """
        import { RunStateStore, approve, runAgent, shutdownDurable } from '@timestep-ai/timestep';
        import { callsThenEcho } from './ts_helpers.mjs';
        import { buildAgent } from './durable_ts.js';
        const agent = buildAgent(callsThenEcho('refund', { order_id: '7', amount: 5 }));
        const store = new RunStateStore('sqlite:///durable.db');
        await runAgent(agent, 'Refund $5 on order 7', { runId: 'ticket-2', store });
        await approve('ticket-2', { store, by: 'bob' });
        console.log(`ticket-2: ${(await store.run('ticket-2')).status}`);
        await shutdownDurable();
        """,
        ts_examples,
        node,
        timeout=600,
    )
    assert paused == ["ticket-2: waiting"]
    # The recipe's worker runs in another process, as a deployed worker would.
    recipe = run_node(
        """
        import { RunStateStore, shutdownDurable } from '@timestep-ai/timestep';
        import { callsThenEcho } from './ts_helpers.mjs';
        import { buildAgent, serveInTypeScript } from './durable_ts.js';
        const agent = buildAgent(callsThenEcho('refund', { order_id: '7', amount: 5 }));
        const store = new RunStateStore('sqlite:///durable.db');
        const controller = new AbortController();
        const finished = (async () => {
          while ((await store.run('ticket-2')).status !== 'done') {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          controller.abort();
        })();
        await serveInTypeScript('ticket-2', agent, store, controller.signal);
        await finished;
        console.log(`ticket-2: ${(await store.run('ticket-2')).status}`);
        await shutdownDurable();
        """,
        ts_examples,
        node,
        timeout=600,
    )
    assert recipe == ["ticket-2: done"]
    audit = run_python(
        """
        from timestep import RunStateStore
        async def show():
            store = RunStateStore("sqlite:///durable.db")
            for run in sorted(await store.list_runs(), key=lambda run: run.run_id):
                deciders = [d.decided_by for d in await store.decisions(run.run_id)]
                print(run.run_id, run.status, run.language, deciders)
        asyncio.run(show())
        """,
        tmp_path,
    )
    assert audit == [
        "ticket-1 done typescript ['alice']",
        "ticket-2 done typescript ['bob']",
    ]


@pytest.mark.timeout(900)
def test_python_to_typescript_handoff(tmp_path: Path, ts_examples: Path, node: str) -> None:
    """Python starts, TypeScript finishes, Python shows the history: twice, each a new run."""
    assert (ts_examples / "handoff_resume.ts").exists()  # compiled: handoff_resume.js
    run_ids = []
    for _ in range(2):
        start = run_python(
            """
            import handoff_start
            model = calls_then_echo(("refund", {"order_id": "7", "amount": 5}))
            asyncio.run(handoff_start.start(model, "sqlite:///runs.db"))
            """,
            tmp_path,
        )
        assert len(start) == 1 and start[0].endswith(": waiting, pending ['refund']"), start
        run_id = start[0].split(":")[0]
        assert re.fullmatch(r"ticket-7-[0-9a-f]{6}", run_id)
        run_ids.append(run_id)
        done = run_node(
            f"""
            import {{ ScriptedModel, assistantMessage, modelResponder }}
              from '@openai/agents-core/testing';
            import {{ main }} from './handoff_resume.js';
            const echo = modelResponder((call) => {{
              const outputs = call.request.input
                .filter((item) => item.type === 'function_call_result')
                .map((item) => item.output.text);
              return [assistantMessage(`Done: ${{outputs.join(' | ')}}`)];
            }});
            await main({run_id!r}, new ScriptedModel([echo]), 'sqlite:///runs.db');
            """,
            ts_examples,
            node,
            timeout=600,  # the durable continuation creates the embedded PGlite (15-30 s)
        )
        assert done == [
            'approving refund {"order_id":"7","amount":5}',
            "answer: Done: refunded $5 on order 7 (from Node)",
        ]
        show = run_python(
            "import handoff_start\n"
            f'asyncio.run(handoff_start.show("sqlite:///runs.db", {run_id!r}))',
            tmp_path,
        )
        assert show == [
            "v0: running  written by python (SDK 0.24.0, state schema 1.21)",
            "v1: waiting  written by python (SDK 0.24.0, state schema 1.21)",
            "v2: done     written by typescript (SDK 0.20.0, state schema 1.22)",
        ]
    assert run_ids[0] != run_ids[1]


def test_models_routes_and_ollama(tmp_path: Path) -> None:
    with FakeOllama(models=["qwen2.5"]) as fake:
        fake.add_tool_call("get_weather", {"city": "Paris"})
        fake.add_text("It is sunny in Paris.")
        out = run_python(
            """
            import models
            asyncio.run(models.main(db="sqlite:///runs.db"))
            """,
            tmp_path,
            env={"OLLAMA_HOST": fake.url},
        )
        bodies = fake.chat_bodies()
    assert out == [
        "ollama/qwen2.5 -> OllamaModel at http://gpu-box:11434",
        "ollama/gpt-oss:120b-cloud -> OllamaModel at https://ollama.com",
        "ollama-cloud/glm-4.6 -> OllamaModel at https://ollama.com",
        "known prefixes: any-llm, lab, litellm, local, ollama, ollama-cloud, openai",
        "answer: It is sunny in Paris.",
    ]
    assert [body["model"] for body in bodies] == ["qwen2.5", "qwen2.5"]
    assert bodies[1]["messages"][-1] == {
        "role": "tool",
        "content": "Paris: sunny, 21 C",
        "tool_name": "get_weather",
    }


def test_local_model_example(tmp_path: Path) -> None:
    # The real local model is exercised by tests/models/test_local_model_e2e.py; here the example's
    # agent and run settings, with a scripted stand-in for the model.
    out = run_python(
        """
        import local_model
        model = calls_then_echo(("get_price", {"item": "blue mug"}))
        asyncio.run(local_model.main(model, db="sqlite:///runs.db"))
        model = calls_then_echo(("get_price", {"item": "red mug"}))
        asyncio.run(local_model.with_the_stock_runner(model))
        """,
        tmp_path,
    )
    assert out == ["answer: Done: blue mug: $12", "answer: Done: red mug: $12"]


def test_stream_reader_follows_a_streamed_durable_run(tmp_path: Path) -> None:
    """stream_reader.py (docs: Streaming) rebuilds the final output; after the end, nothing."""
    out = run_python(
        """
        from agents import Agent
        from agents.testing import ScriptedModel, assistant_message
        from timestep import RunStateStore, consume_result, run_agent
        import stream_reader
        async def go():
            store = RunStateStore("sqlite:///stream.db")
            model = ScriptedModel([[assistant_message("Once upon a time, a run survived.")]])
            agent = Agent(name="writer", model=model)
            streamed = await run_agent(agent, "A story", stream=True, run_id="story-1", store=store)
            result = await consume_result(streamed)
            text, cursor = await stream_reader.follow("story-1", store)
            print("rebuilt:", text == result.final_output, repr(text), cursor > 0)
            rest, end = await stream_reader.follow("story-1", store, cursor)
            print("after the cursor:", repr(rest), end == cursor)
        asyncio.run(go())
        """,
        tmp_path,
    )
    assert out == [
        "Once upon a time, a run survived.",  # printed as it streamed
        "rebuilt: True 'Once upon a time, a run survived.' True",
        "",  # nothing after the end cursor
        "after the cursor: '' True",
    ]


def test_deploy_commands_are_valid_shell_and_name_real_files() -> None:
    """deploy.sh (docs: Deployment) parses, and the files it names are in the repository.

    The compose file's services are brought up for real by tests/project/test_deploy.py."""
    script = EXAMPLES / "deploy.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "deploy/compose.yaml" in text and (ROOT / "deploy" / "compose.yaml").is_file()
    for unit in ("timestep-migrate", "timestep-inbox", "timestep-worker@"):
        assert unit in text and (ROOT / "deploy" / "systemd" / f"{unit}.service").is_file()


def test_local_model_setup_commands_are_valid_shell() -> None:
    # `setup` builds llama-server (minutes); `make local-model` runs it before the tests.
    script = EXAMPLES / "local_model_setup.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert "python -m timestep.models.local setup" in script.read_text()


def test_web_search_agent(tmp_path: Path) -> None:
    hits = [
        Hit("What's New In Python 3.13", "https://docs.python.org/3/whatsnew/3.13.html", "JIT."),
        Hit("Python 3.13 blog", "https://blog.example.com/py313", "Elsewhere."),
    ]
    with fake_search_server(FakeSearch(hits=hits)) as (server, _fake):
        out = run_python(
            """
            import web_search_agent
            model = calls_then_echo(("web_search", {"query": "python 3.13 news"}))
            asyncio.run(web_search_agent.main(model))
            """,
            tmp_path,
            env={"FIRECRAWL_API_URL": server.url, "FIRECRAWL_API_KEY": "test-key"},
        )
        [request] = [r for r in server.requests if r.path == "/v2/search"]
    text = "\n".join(out)
    assert 'Web search results for "python 3.13 news" within python.org' in text
    assert "https://docs.python.org/3/whatsnew/3.13.html" in text
    assert "blog.example.com" not in text  # outside allowed_domains: dropped
    assert request.json["includeDomains"] == ["python.org"]
    assert request.json["limit"] == 3  # search_context_size="low"


def test_inbox_client(tmp_path: Path) -> None:
    from harness.http_server import free_port

    run_python(
        """
        import first_approval
        from timestep import RunStateStore, run_agent

        async def start() -> None:
            store = RunStateStore("sqlite:///runs.db")
            for run_id, amount in [("small", 20), ("big", 500)]:
                model = calls_then_echo(("refund", {"order_id": "1", "amount": amount}))
                agent = first_approval.build_agent(model)
                await run_agent(agent, "refund", run_id=run_id, store=store)

        asyncio.run(start())
        """,
        tmp_path,
    )
    port = free_port()
    command = [str(Path(sys.executable).parent / "timestep"), "--db", "sqlite:///runs.db"]
    command += ["serve", "--port", str(port)]
    token = "s3cret-token-for-the-docs"
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**_env(), "TIMESTEP_INBOX_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # wait until it listens
            if line.startswith("timestep inbox on"):
                break
        else:
            raise AssertionError("the inbox did not start")
        out = run_python(
            f"import inbox_client\ninbox_client.main('http://127.0.0.1:{port}', {token!r})",
            tmp_path,
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert out == [
        "small: approve refund {'order_id': '1', 'amount': 20}",
        "big: reject refund {'order_id': '1', 'amount': 500}",
        "still waiting: ['big', 'small']",  # decided; the next segments start on resume
    ]
    resumed = run_python(
        """
        import first_approval
        from timestep import RunStateStore
        from timestep.durable import resume

        async def finish() -> None:
            store = RunStateStore("sqlite:///runs.db")
            for run_id in ("small", "big"):
                agent = first_approval.build_agent(calls_then_echo())
                result = await resume(run_id, agent=agent, store=store)
                print(run_id, result.final_output)

        asyncio.run(finish())
        """,
        tmp_path,
    )
    assert resumed == [
        "small Done: refunded $20 on order 1",
        "big Done: refunds over $50 need a human",
    ]


@pytest.mark.timeout(900)
@pytest.mark.postgres
def test_workers_on_postgres(tmp_path: Path, postgres_db_url: str) -> None:
    model = 'calls_then_echo(("word_count", {"text": "a b c"}))'
    workers = [
        subprocess.Popen(
            _driver(
                tmp_path,
                "import workers\n"
                f"asyncio.run(workers.serve({name!r}, {model}, {postgres_db_url!r}))",
            ),
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("w1", "w2")
    ]
    try:
        engine = sa.create_engine(postgres_db_url.replace("postgresql://", "postgresql+psycopg://"))
        deadline = time.monotonic() + 240
        while not sa.inspect(engine).has_table("workflow_status", schema="dbos"):
            assert all(w.poll() is None for w in workers), "a worker exited"
            assert time.monotonic() < deadline, "the workers did not launch"
            time.sleep(0.5)
            engine.dispose()
        batches = [
            run_python(
                f"import workers\nasyncio.run(workers.submit(3, {postgres_db_url!r}))",
                tmp_path,
                timeout=600,
            )
            for _ in range(2)  # each submit queues new runs
        ]
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    prefixes = set()
    for out in batches:
        assert len(out) == 3, out
        for n, line in enumerate(out):
            found = re.fullmatch(rf"(job-[0-9a-f]{{6}}-){n}: done in 1 version\(s\)", line)
            assert found, out
            prefixes.add(found.group(1))
    assert len(prefixes) == 2


# ------------------------------------------------------------------ the docs use these files

FENCE = re.compile(
    r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<lang>[\w+-]*)[^\n]*\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)\s*$",
    re.M | re.S,
)
CODE_LANGUAGES = {"python", "py", "pycon", "ts", "typescript", "js", "javascript", "mjs"}
CODE_LANGUAGES |= {"sh", "bash", "shell", "console", "zsh"}
SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<path>[^"]+)"\s*$')


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "dev" not in p.relative_to(DOCS).parts)


def test_code_blocks_are_included_example_files() -> None:
    included: set[str] = set()
    for page in _pages():
        for block in FENCE.finditer(page.read_text()):
            lines = [line for line in block["body"].splitlines() if line.strip()]
            if block["lang"] not in CODE_LANGUAGES:
                continue
            for line in lines:
                match = SNIPPET.match(line)
                assert match, f"{page.name}: code must come from docs/examples/: {line!r}"
                included.add(match["path"].split(":")[0])
    tested = {path.name for path in EXAMPLES.iterdir() if path.is_file()}
    assert included <= tested, f"pages include missing examples: {included - tested}"
    assert tested <= included, f"examples no page shows: {tested - included}"


def test_every_example_has_a_test() -> None:
    source = Path(__file__).read_text()
    for example in EXAMPLES.iterdir():
        stem = example.stem
        assert f"import {stem}" in source or example.name in source, f"untested: {example.name}"


def test_typescript_reference_lists_every_export() -> None:
    index = (TS / "src" / "index.ts").read_text()
    exported = set()
    for block in re.findall(r"export\s*\{(.*?)\}", index, re.S):
        for name in block.split(","):
            name = name.strip().removeprefix("type ").strip()
            if name:
                exported.add(name)
    page = (DOCS / "reference" / "typescript.md").read_text()
    missing = sorted(name for name in exported if f"`{name}" not in page)
    assert not missing, f"docs/reference/typescript.md does not describe: {missing}"


def test_python_reference_covers_the_public_names() -> None:
    pages = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    modules = ["timestep", "timestep.durable", "timestep.models", "timestep.tools"]
    for module in [*modules, "timestep.models.local", "timestep.state.translate"]:
        assert re.search(rf"^::: {re.escape(module)}$", pages, re.M), f"no reference for {module}"


# ------------------------------------------------------------------------ the CLI reference

# docs/cli.md shows one of these per command; the test runs them in this order in one directory,
# on one store, against ``myapp/agents.py`` (the ``support`` agent on a scripted model).
CLI_EXAMPLES = [
    "cli_db_upgrade.sh",
    "cli_run.sh",
    "cli_approve.sh",
    "cli_reject.sh",
    "cli_resume.sh",
    "cli_cancel.sh",
    "cli_fork.sh",
    "cli_worker.sh",
    "cli_workers.sh",
    "cli_export.sh",
    "cli_import.sh",
    "cli_runs_list.sh",
    "cli_runs_show.sh",
    "cli_runs_stream.sh",
    "cli_runs_delete.sh",
    "cli_runs_prune.sh",
    "cli_serve.sh",
    "cli_demo.sh",
]

CLI_AGENTS = '''
"""The ``support`` agent of the CLI reference's examples, on a scripted model (no LLM)."""

import re

from agents import Agent, function_tool, set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

set_tracing_disabled(True)


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund part of an order."""
    return f"refunded ${amount} on order {order_id}"


def _respond(call: ModelCall) -> ModelStep:
    items = call.input if isinstance(call.input, list) else [{"content": call.input}]
    items = [item for item in items if isinstance(item, dict)]
    outputs = [str(i.get("output")) for i in items if i.get("type") == "function_call_output"]
    if outputs:
        return ModelStep(output=[assistant_message("Done: " + " | ".join(outputs))])
    order = re.search(r"Refund order (\\d+)", " ".join(str(i.get("content")) for i in items))
    if order:
        arguments = {"order_id": order[1], "amount": 25}
        return ModelStep(output=[function_call("refund", arguments, call_id=f"call_{order[1]}")])
    return ModelStep(output=[assistant_message("Order 7 ships on Monday.")])


support = Agent(
    name="support",
    instructions="Refund damaged orders.",
    tools=[refund],
    model=ScriptedModel([ModelStep.respond(_respond) for _ in range(200)]),
)
'''

# A long-running command (its line says "until Ctrl+C") runs until these lines appeared in its
# output, then gets SIGINT, as a user would press Ctrl+C.
UNTIL = {
    "cli_worker.sh": [
        "worker ready on",
        r"segment ticket-43@1: run ticket-43, agent support, done",
        r"segment ticket-44@1: run ticket-44, agent support, done",
        r"segment ticket-42-fork-\w+@1: run ticket-42-fork-\w+, agent support, done",
    ],
    "cli_serve.sh": ["timestep inbox on http://127.0.0.1:"],
    "cli_runs_list.sh": [r"\d+ run\(s\) in sqlite:///timestep.db"],
}

UNTIL_SCRIPT = """
import os, re, selectors, signal, subprocess, sys, time
patterns, command = sys.argv[1].split("\\\\n"), sys.argv[2]
proc = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        start_new_session=True)
seen, deadline = "", time.monotonic() + 300
selector = selectors.DefaultSelector()
selector.register(proc.stdout, selectors.EVENT_READ)
# raw reads: a buffered readline could keep lines the selector no longer reports as readable
while not all(re.search(p, seen) for p in patterns):
    chunk = os.read(proc.stdout.fileno(), 65536) if selector.select(0.2) else None
    if chunk is not None:
        seen += chunk.decode(errors="replace")
        sys.stdout.write(chunk.decode(errors="replace"))
    if time.monotonic() > deadline or chunk == b"":
        print(seen + "\\nnever printed: " + repr(patterns), file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        sys.exit(1)
os.killpg(proc.pid, signal.SIGINT)
rest = proc.communicate(timeout=60)[0]
sys.stdout.write(rest.decode(errors="replace"))
sys.exit(0 if proc.returncode in (0, 130, -2) else proc.returncode)
"""


# A line that only runs ``timestep`` (optionally piped into ``jq``) runs in this process through
# the CLI's ``main(argv)``; other lines (long-running ones, shell variables, exports) run in bash.
# A fresh interpreter per line would cost an import and a DBOS launch each (minutes in all).
_QUOTED = re.compile("'[^']*'|" + r'"[^"$`\\]*"')
_PLAIN = re.compile(r"[\w./:=@,+%|' -]*")


def _in_process(line: str) -> list[list[str]] | None:
    """The pipeline stages of ``line`` when it runs in process (``timestep ... [| jq ...]``)."""
    if "until Ctrl+C" in line:
        return None
    masked = _QUOTED.sub("''", line)  # quoted text is literal; what is left must be too
    masked = masked.split(" #", 1)[0].strip()
    if not _PLAIN.fullmatch(masked):
        return None
    tokens = shlex.split(line, comments=True)
    stages: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    if stages[0][:1] != ["timestep"] or any(stage[:1] != ["jq"] for stage in stages[1:]):
        return None
    return stages


def _bash_line(name: str, line: str) -> str:
    """The line as bash runs it: a long-running one wrapped in the Ctrl+C helper."""
    if "until Ctrl+C" in line:
        command = line.split("#", 1)[0].strip()
        patterns = "\\n".join(UNTIL[name])
        return f"python until_ready.py {shlex.quote(patterns)} {shlex.quote(command)}"
    return line


def _run_cli_example(name: str, cwd: Path, env: dict[str, str], in_process: InProcessCli) -> str:
    """Run the example's lines in order, as ``bash -e -o pipefail`` would; return their output."""
    text = ""
    bash: list[str] = []  # consecutive lines bash runs together

    def flush() -> None:
        nonlocal text
        if bash:
            script = "\n".join(bash) + "\n"
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            text += done.stdout + done.stderr
            assert done.returncode == 0, f"{name} failed ({done.returncode}):\n{text}"
            bash.clear()

    for line in (EXAMPLES / name).read_text().splitlines():
        stages = _in_process(line)
        if stages is None:
            bash.append(_bash_line(name, line))
            continue
        flush()
        code, out, err = in_process(stages[0][1:])
        text += err
        for stage in stages[1:]:
            piped = subprocess.run(stage, input=out, capture_output=True, text=True, timeout=60)
            out, code = piped.stdout, code or piped.returncode
            text += piped.stderr
        text += out
        assert code == 0, f"{name} failed at {line!r} ({code}):\n{text}"
    flush()
    return text


@pytest.mark.timeout(1800)
def test_cli_reference_examples_run(tmp_path: Path, in_process: InProcessCli) -> None:
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "agents.py").write_text(CLI_AGENTS)
    (tmp_path / "until_ready.py").write_text(UNTIL_SCRIPT)
    (tmp_path / "alice.token").write_text("alice-token-0123456789\n")
    (tmp_path / "bob.token").write_text("bob-token-0123456789abc\n")
    env = _env({"TIMESTEP_DB": "sqlite:///timestep.db", "COLUMNS": "200"})
    env["TIMESTEP_LOG_FILE"] = str(tmp_path / "cli.log")
    in_process.use(tmp_path, env)  # this process as the examples' shell
    assert "myapp" not in sys.modules
    out = {name: _run_cli_example(name, tmp_path, env, in_process) for name in CLI_EXAMPLES}
    flat = {name: " ".join(text.split()) for name, text in out.items()}
    assert "run ticket-42 is waiting for 1 approval(s)" in flat["cli_run.sh"]
    assert "Order 7 ships on Monday." in flat["cli_run.sh"]
    assert "approved refund (call_42) in run ticket-42" in flat["cli_approve.sh"]
    assert "approved refund (call_43) in run ticket-43" in flat["cli_approve.sh"]
    assert "rejected refund (call_44) in run ticket-44" in flat["cli_reject.sh"]
    assert "Done: refunded $25 on order 42" in flat["cli_resume.sh"]
    assert "run ticket-44 is queued for a 'timestep worker'" in flat["cli_resume.sh"]
    assert "cancelled run ticket-45" in flat["cli_cancel.sh"]
    assert "forked run ticket-42 at step 3 as ticket-42-fork-" in flat["cli_fork.sh"]
    assert "forked run ticket-42 at version 1 as ticket-42-b" in flat["cli_fork.sh"]
    assert "known in sqlite:///timestep.db" in flat["cli_workers.sh"]
    exported = json.loads((tmp_path / "ticket-42.json").read_text())
    assert exported["$schemaVersion"] == "1.22" and "currentAgent" in exported
    assert "ticket-42-from-js" in flat["cli_import.sh"]
    assert (
        '"ticket-43"' in flat["cli_runs_list.sh"] and '"tenant/ticket-7"' in out["cli_runs_list.sh"]
    )
    assert "final output: Done: refunded $25 on order 42" in flat["cli_runs_show.sh"]
    assert '"Order 7 ships on Monday."' in flat["cli_runs_show.sh"]
    assert "Order 7 ships on Monday." in flat["cli_runs_stream.sh"]
    assert "deleted run ticket-42-b" in flat["cli_runs_delete.sh"]
    assert "timestep inbox on http://127.0.0.1:" in flat["cli_serve.sh"]
    assert "run is 'done' at version 2 (3 saved: 0, 1, 2)" in flat["cli_demo.sh"]
