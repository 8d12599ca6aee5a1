"""`ensure_local_model`: build the server and fetch the weights once, then reuse the cache."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from timestep._errors import LocalModelError
from timestep.models.local._build import build_llama_server
from timestep.models.local._lock import file_lock
from timestep.models.local._paths import (
    LLAMA_CPP_PYTHON_VERSION,
    WEIGHTS_SHA256,
    WEIGHTS_SIZE,
    LocalModelPaths,
)
from timestep.models.local._progress import Reporter, make_reporter
from timestep.models.local._weights import assemble, download_parts, file_sha256

_BINARY_STAMP = f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}\n"


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def binary_ready(paths: LocalModelPaths) -> bool:
    """The server binary is installed from the pinned sources."""
    return paths.server_binary.is_file() and _read(_stamp(paths.server_binary)) == _BINARY_STAMP


def weights_ready(paths: LocalModelPaths) -> bool:
    """The weights are present with the right size and were verified when written."""
    w = paths.weights
    return (
        w.is_file()
        and w.stat().st_size == WEIGHTS_SIZE
        and _read(_stamp(w)) == WEIGHTS_SHA256 + "\n"
    )


def is_ready(paths: LocalModelPaths | None = None) -> bool:
    """Both the server and the weights are in the cache (no hashing: fast)."""
    p = paths if paths is not None else LocalModelPaths.in_cache()
    return binary_ready(p) and weights_ready(p)


def _write_stamp(path: Path, text: str) -> None:
    stamp = _stamp(path)
    tmp = stamp.with_name(f".{stamp.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(stamp)


def _ensure_binary(paths: LocalModelPaths, reporter: Reporter) -> None:
    if binary_ready(paths):
        return
    work = paths.cache_dir / "work" / "llama.cpp"
    started = time.monotonic()
    build_llama_server(work, paths.server_binary, reporter)
    _write_stamp(paths.server_binary, _BINARY_STAMP)
    reporter.message(f"llama-server built in {time.monotonic() - started:.0f} s")
    shutil.rmtree(work, ignore_errors=True)


def _ensure_weights(paths: LocalModelPaths, reporter: Reporter) -> None:
    if weights_ready(paths):
        return
    w = paths.weights
    if w.is_file() and w.stat().st_size == WEIGHTS_SIZE and file_sha256(w) == WEIGHTS_SHA256:
        _write_stamp(w, WEIGHTS_SHA256 + "\n")
        return
    work = paths.cache_dir / "work" / "weights"
    started = time.monotonic()
    assemble(download_parts(work, reporter), w, reporter)
    _write_stamp(w, WEIGHTS_SHA256 + "\n")
    reporter.message(f"weights downloaded and verified in {time.monotonic() - started:.0f} s")
    shutil.rmtree(work, ignore_errors=True)


def ensure_local_model(progress: bool = True) -> LocalModelPaths:
    """Make sure `llama-server` and the Qwen2.5-Coder-0.5B weights are in the cache.

    The first call builds and downloads (minutes, with progress when `progress` is True);
    later calls only check the cache. A file lock keeps concurrent processes from doing the
    work twice. Raises `LocalModelError` (or `LocalModelChecksumError`) on failure.
    """
    paths = LocalModelPaths.in_cache()
    if is_ready(paths):
        return paths
    if not paths.chat_template.is_file():
        raise LocalModelError(f"the chat template {paths.chat_template} is missing")
    with file_lock(paths.cache_dir / ".lock"):
        if is_ready(paths):
            return paths
        reporter = make_reporter(progress)
        try:
            _ensure_binary(paths, reporter)
            _ensure_weights(paths, reporter)
        finally:
            reporter.close()
        with contextlib.suppress(OSError):
            (paths.cache_dir / "work").rmdir()  # only when empty
    return paths
