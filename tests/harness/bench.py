"""A script of ``bench/`` loaded as a module, for the tests of its parts."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"


@functools.cache
def load_bench(name: str) -> ModuleType:
    """``bench/<name>.py`` as the module ``name``, loaded once per test process.

    It is registered in ``sys.modules`` first: dataclasses look their module up while defined.
    """
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_bench_json(script: str, *args: str, **env: str) -> Any:
    """Run ``bench/<script>`` with ``args`` (this checkout's ``src`` first on the path, tracing
    off, ``env`` added); the JSON it printed last. Fails with its stderr if it exits non-zero."""
    full = dict(os.environ, OPENAI_AGENTS_DISABLE_TRACING="1", **env)
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), full.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
