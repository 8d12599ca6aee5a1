"""Node for the cross-language tests: the binary, with the TypeScript package's test build fresh."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
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


def built_package_node() -> str:
    """``node`` with the test build fresh and the package's own build (``ts/dist``, what a script
    importing ``@timestep-ai/timestep`` loads) rebuilt when a source is newer."""
    binary = built_node(TS / "dist-test" / "test" / "seed.test.js")
    built = TS / "dist" / "index.js"
    stamp = built.stat().st_mtime if built.exists() else 0.0
    if any(path.stat().st_mtime > stamp for path in TS.glob("src/**/*.ts")):
        build = ["npm", "--prefix", str(TS), "run", "build"]
        subprocess.run(build, check=True, capture_output=True)
    return binary


def run_node(node: str, cwd: Path, code: str) -> list[str]:
    """Run the ES module ``code`` next to a node_modules holding the package and the SDK."""
    modules = cwd / "node_modules"
    (modules / "@timestep-ai").mkdir(parents=True, exist_ok=True)
    for link, target in {
        modules / "@timestep-ai" / "timestep": TS,
        modules / "@openai": TS / "node_modules" / "@openai",
        modules / "zod": TS / "node_modules" / "zod",
    }.items():
        if not link.exists():
            link.symlink_to(target)
    (cwd / "driver.mjs").write_text(textwrap.dedent(code))
    done = subprocess.run(
        [node, "driver.mjs"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "OPENAI_AGENTS_DISABLE_TRACING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()
