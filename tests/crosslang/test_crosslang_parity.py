"""The parity table of docs/parity.md against both packages' real exports.

Every public Python name (``__all__`` of timestep, timestep.state, timestep.state.translate,
timestep.tools, timestep.models, timestep.durable) has a row: its TypeScript twin, which the built
package must export (a type or a value; ``Class.method`` a method), or a stated reason for none.
Every TypeScript export is a twin or listed as TypeScript-only with a reason. Error classes have
the same parent in both languages.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.node import TS, built_node

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "parity.md"
MODULES = [
    "timestep",
    "timestep.state",
    "timestep.state.translate",
    "timestep.tools",
    "timestep.models",
    "timestep.durable",
]
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?:`(?P<twin>[^`]+)`|—) \|(?P<note>.*)\|$")


def _section(title: str) -> list[re.Match[str]]:
    text = PAGE.read_text()
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [m for m in (ROW.match(line) for line in body.splitlines()) if m is not None]


@pytest.fixture(scope="module")
def ts_exports() -> dict[str, Any]:
    node = built_node(TS / "dist-test" / "test" / "seed.test.js")
    built = TS / "dist" / "index.js"
    stamp = built.stat().st_mtime if built.exists() else 0.0
    if any(path.stat().st_mtime > stamp for path in TS.glob("src/**/*.ts")):
        subprocess.run(
            ["npm", "--prefix", str(TS), "run", "build"], check=True, capture_output=True
        )
    script = Path(__file__).parents[1] / "harness" / "ts_exports.mjs"
    done = subprocess.run(
        [node, str(script), str(TS)], check=True, capture_output=True, text=True, timeout=120
    )
    exports: dict[str, Any] = json.loads(done.stdout)
    return exports


def test_every_python_name_has_a_row() -> None:
    listed = [m["name"] for m in _section("Every public name")]
    assert len(listed) == len(set(listed)), "a Python name is listed twice"
    expected: dict[str, str] = {}
    for module_name in MODULES:
        for name in importlib.import_module(module_name).__all__:
            expected.setdefault(name, f"{module_name}.{name}")
    assert sorted(listed) == sorted(expected.values())


def test_twins_exist_and_missing_ones_say_why(ts_exports: dict[str, Any]) -> None:
    names, classes = set(ts_exports["names"]), ts_exports["classes"]
    for row in _section("Every public name"):
        twin, note = row["twin"], row["note"].strip()
        if twin is None:
            assert note, f"{row['name']}: no TypeScript twin and no reason"
        elif "." in twin:
            cls, method = twin.split(".")
            assert method in classes[cls]["methods"], f"{twin} is not a method"
        else:
            assert twin in names, f"{row['name']}: TypeScript exports no {twin}"


def test_typescript_only_exports_are_listed(ts_exports: dict[str, Any]) -> None:
    twins = {m["twin"] for m in _section("Every public name") if m["twin"]}
    only = {m["name"]: m["note"].strip() for m in _section("TypeScript only")}
    assert all(only.values()), "a TypeScript-only export without a reason"
    assert sorted(set(ts_exports["names"]) - twins) == sorted(only)


def test_error_classes_have_python_parents(ts_exports: dict[str, Any]) -> None:
    import timestep

    classes = ts_exports["classes"]
    errors = [n for n in timestep.__all__ if n.endswith("Error")]
    assert len(errors) >= 30
    for name in errors:
        python_parent = getattr(timestep, name).__mro__[1].__name__
        expected = "Error" if python_parent == "Exception" else python_parent
        assert classes[name]["parent"] == expected, name
