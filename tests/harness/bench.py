"""A script of ``bench/`` loaded as a module, for the tests of its parts."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


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
