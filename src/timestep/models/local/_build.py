"""Build `llama-server` from the llama.cpp sources vendored in the llama-cpp-python sdist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from timestep._errors import LocalModelError
from timestep.models.local._paths import LLAMA_CPP_PYTHON_VERSION, SERVER_BINARY
from timestep.models.local._progress import Reporter

SDIST = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
_VENDOR = "vendor/llama.cpp"

CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_BORINGSSL=OFF",
    "-DLLAMA_BUILD_LIBRESSL=OFF",
)
"""Release, static, no tests/examples, nothing that downloads or needs TLS."""

_MAKE_PCT = re.compile(r"^\[\s*(\d+)%\]")
_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def build_percent(line: str) -> float | None:
    """The build's progress in percent announced by one line of make or ninja output."""
    if m := _MAKE_PCT.match(line):
        return float(m.group(1))
    if m := _NINJA_STEP.match(line):
        return 100.0 * int(m.group(1)) / max(int(m.group(2)), 1)
    return None


def _run(cmd: list[str], log: Path, reporter: Reporter, *, parse: bool, what: str) -> None:
    """Run `cmd`, appending its output to `log`; feed build percentages to `reporter`."""
    with log.open("a", encoding="utf-8", buffering=1) as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if parse and (pct := build_percent(line)) is not None:
                reporter.update(pct)
        code = proc.wait()
    if code != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-30:])
        raise LocalModelError(f"{what} failed (exit {code}); full log: {log}\n{tail}")


def download_sdist(work: Path, log: Path, reporter: Reporter) -> Path:
    """`pip download` the llama-cpp-python sdist into `work` (skipped when already there)."""
    tarball = work / f"{SDIST}.tar.gz"
    if tarball.is_file():
        return tarball
    reporter.message(f"Downloading llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} (sdist) ...")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    cmd += ["--progress-bar", "off", f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"]
    _run([*cmd, "-d", str(work)], log, reporter, parse=False, what="pip download (sdist)")
    if not tarball.is_file():
        raise LocalModelError(f"pip download did not produce {tarball}; see {log}")
    return tarball


def extract_llama_cpp(tarball: Path, work: Path) -> Path:
    """Extract only `vendor/llama.cpp` from the sdist; returns the source directory."""
    source = work / SDIST / _VENDOR
    marker = work / ".extracted"
    if marker.is_file() and source.is_dir():
        return source
    prefix = f"{SDIST}/{_VENDOR}/"
    with tarfile.open(tarball, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise LocalModelError(f"{tarball.name} has no {_VENDOR} directory")
        tar.extractall(work, members=members, filter="data")
    marker.write_text("ok\n", encoding="utf-8")
    return source


def build_llama_server(work: Path, dest: Path, reporter: Reporter, *, jobs: int = 2) -> None:
    """Download, configure and build `llama-server`, then install it atomically at `dest`.

    `work` keeps the sdist and the cmake build tree, so a retry after a failure is incremental.
    """
    if shutil.which("cmake") is None:
        raise LocalModelError("cmake is needed to build llama-server; install cmake (>= 3.14)")
    work.mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    source = extract_llama_cpp(download_sdist(work, log, reporter), work)
    build_dir = work / "build"
    reporter.message(f"Configuring llama.cpp (log: {log}) ...")
    configure = ["cmake", "-S", str(source), "-B", str(build_dir), *CMAKE_OPTIONS]
    _run(configure, log, reporter, parse=False, what="cmake configure")
    reporter.start("Building llama-server", 100)
    build = ["cmake", "--build", str(build_dir), "--config", "Release"]
    build += ["--target", SERVER_BINARY, "-j", str(jobs)]
    _run(build, log, reporter, parse=True, what="cmake build of llama-server")
    reporter.update(100)
    built = build_dir / "bin" / SERVER_BINARY
    if not built.is_file():
        raise LocalModelError(f"the build finished but {built} is missing; see {log}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copy2(built, tmp)
    tmp.chmod(0o755)
    os.replace(tmp, dest)
