"""The npm package as a user installs it: what the tarball holds, its peer dependencies, and a
clear typed error when an optional SQL driver is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.node import TS, built_node


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with ``ts/dist`` built from the current sources."""
    binary = built_node(TS / "dist-test" / "test" / "seed.test.js")
    built = TS / "dist" / "index.js"
    stamp = built.stat().st_mtime if built.exists() else 0.0
    if any(path.stat().st_mtime > stamp for path in TS.glob("src/**/*.ts")):
        subprocess.run(
            ["npm", "--prefix", str(TS), "run", "build"], check=True, capture_output=True
        )
    return binary


def test_tarball_has_license_and_build_only(node: str) -> None:
    out = subprocess.run(
        ["npm", "pack", "--dry-run", "--json"], cwd=TS, check=True, capture_output=True, text=True
    )
    files = {entry["path"] for entry in json.loads(out.stdout)[0]["files"]}
    assert {"LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"} <= files
    assert "dist/tools/index.js" in files and "dist/store/index.js" in files
    assert not any(f.startswith(("src/", "test/", "dist-test/")) for f in files)
    assert (TS / "LICENSE").read_text() == (TS.parent / "LICENSE").read_text()


def test_sdk_and_drivers_are_peer_dependencies() -> None:
    package = json.loads((TS / "package.json").read_text())
    dependencies = package.get("dependencies", {})
    for name in ("@openai/agents", "better-sqlite3", "pg"):
        assert name not in dependencies  # one copy of the SDK: the app's; drivers optional
    assert package["peerDependencies"]["@openai/agents"] == "0.20.0"
    assert package["peerDependenciesMeta"] == {
        "better-sqlite3": {"optional": True},
        "pg": {"optional": True},
    }
    for name in ("@openai/agents", "better-sqlite3", "pg"):
        assert name in package["devDependencies"]  # the package's own tests use them


def test_missing_driver_is_a_configuration_error(tmp_path: Path, node: str) -> None:
    # Installed without better-sqlite3 or pg: only the SDK next to the package.
    package = tmp_path / "node_modules" / "@timestep-ai" / "timestep"
    package.mkdir(parents=True)
    shutil.copytree(TS / "dist", package / "dist")
    shutil.copy(TS / "package.json", package / "package.json")
    (tmp_path / "node_modules" / "@openai").symlink_to(TS / "node_modules" / "@openai")
    for name in json.loads((TS / "package.json").read_text()).get("dependencies", {}):
        scope = name.split("/")[0]  # the package's own dependencies, as npm would install them
        if not (tmp_path / "node_modules" / scope).exists():
            (tmp_path / "node_modules" / scope).symlink_to(TS / "node_modules" / scope)
    (tmp_path / "main.mjs").write_text(
        """
        import { ConfigurationError, RunStateStore } from '@timestep-ai/timestep';
        const file = new RunStateStore('state.json');  // file stores need no driver
        console.log(file.kind);
        for (const url of ['sqlite:///runs.db', 'postgresql://u@127.0.0.1/db']) {
          try {
            new RunStateStore(url);
            console.log('opened');
          } catch (error) {
            console.log(error instanceof ConfigurationError, error.message);
          }
        }
        """
    )
    done = subprocess.run(
        [node, "main.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "file",
        "true sqlite:///... stores need the 'better-sqlite3' package, an optional peer "
        "dependency of @timestep-ai/timestep: npm install better-sqlite3",
        "true postgresql://... stores need the 'pg' package, an optional peer dependency of "
        "@timestep-ai/timestep: npm install pg",
    ]
