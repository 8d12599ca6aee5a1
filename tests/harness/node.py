"""Node for the cross-language tests: the binary, with the TypeScript package's test build fresh."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TS = Path(__file__).resolve().parents[2] / "ts"


def built_node(driver: Path) -> str:
    """The ``node`` binary, after rebuilding ``ts/dist-test`` when its sources are newer than
    ``driver``. Fails under ``CI`` (where Node and ``ts/node_modules`` must be present), else skips.
    """
    binary = shutil.which("node")
    npx = shutil.which("npx")
    if binary is None or npx is None:
        if os.environ.get("CI"):
            pytest.fail("CI=true but node/npx are not on PATH")
        pytest.skip("node is not installed: cross-language tests need Node 20")
    if not (TS / "node_modules" / "@openai" / "agents").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI=true but ts/node_modules is missing: run `npm --prefix ts ci`")
        pytest.skip("ts/node_modules is missing: run `npm --prefix ts ci` first")
    sources = [*TS.glob("src/**/*.ts"), *TS.glob("test/**/*.ts"), TS / "tsconfig.json"]
    built = driver.stat().st_mtime if driver.exists() else 0.0
    if any(path.stat().st_mtime > built for path in sources):
        subprocess.run(
            [npx, "tsc", "-p", "tsconfig.test.json"], cwd=TS, check=True, capture_output=True
        )
    return binary
