"""The package's structure, checked from its source: who may import what, and module sizes.

Ruff's ``banned-api`` is one global list (it would also ban a package's own private modules),
so the rule "no import of another subpackage's private module" is checked here, on the parsed
imports of every module, together with the one-way flow between subpackages
(docs/architecture.md).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "timestep"

#: Units of the package, lowest layer first: a unit may import only units of a lower rank
#: (and itself). Root modules ``_errors`` and ``_versions`` are the shared base; ``_env``
#: (settings read from environment variables, raising ``_errors``' types) sits on them.
LAYERS: dict[str, int] = {
    "_errors": 0,
    "_versions": 0,
    "_env": 1,
    "_pg_pool": 1,
    "_sqlite_writers": 1,
    "state": 2,
    "models": 2,
    "tools": 3,
    "durable": 4,
    "_run": 5,
    "runs": 5,
    "server": 6,
    "demo": 6,
    "cli": 7,
}

#: Modules stay under ~600 lines (some slack, so a small fix does not force a split); longer
#: ones only with a docs/dev page that says why (module name -> that page).
MAX_LINES = 650
LONG_MODULES: dict[str, str] = {}

#: timestep's own tables: only ``timestep.state`` names them.
TABLES = re.compile(r"\btimestep_(runs|run_states|approvals|sessions|session_items)\b")


@dataclass(frozen=True)
class Import:
    """One imported module (absolute), as written in ``source`` at ``line``."""

    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


@cache
def _sources() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def _imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for module, path in _sources().items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module)
                found.append(Import(module, base, node.lineno))
                # ``from pkg import _private`` imports the module pkg._private when it exists
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    if candidate in _sources():
                        found.append(Import(module, candidate, node.lineno))
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(Import(module, node.args[0].value, node.lineno))
    return tuple(i for i in found if i.target == "timestep" or i.target.startswith("timestep."))


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private_owner(target: str) -> str | None:
    """The package whose private module ``target`` is (``timestep.state`` for
    ``timestep.state._store``), or None for a public module."""
    parts = target.split(".")
    for index in range(1, len(parts)):
        if parts[index].startswith("_"):
            return ".".join(parts[:index])
    return None


def test_the_checks_see_the_package() -> None:
    units = {_unit(module) for module in _sources()} - {""}
    assert units == set(LAYERS), "every top-level module or subpackage needs a layer"
    assert len(_imports()) > 100


def test_no_module_imports_another_packages_private_module() -> None:
    wrong = []
    for found in _imports():
        owner = _private_owner(found.target)
        if owner is None or owner == "timestep":
            continue  # public, or a root module such as timestep._errors
        if not (found.source == owner or found.source.startswith(owner + ".")):
            wrong.append(f"{found.source}:{found.line} imports {found.target}")
    assert wrong == []


def test_imports_flow_one_way_between_subpackages() -> None:
    wrong = []
    for found in _imports():
        source, target = _unit(found.source), _unit(found.target)
        if found.source == "timestep" or source == target or target == "":
            continue  # the package's public facade re-exports every layer
        if LAYERS[target] >= LAYERS[source]:
            wrong.append(f"{found.source}:{found.line} ({source}) imports {found.target}")
    assert wrong == []


def test_no_import_cycle_between_subpackages() -> None:
    graph: dict[str, set[str]] = {unit: set() for unit in LAYERS}
    for found in _imports():
        source, target = _unit(found.source), _unit(found.target)
        if found.source != "timestep" and target and source != target:
            graph[source].add(target)
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> None:
        if unit in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(unit) :], unit]))
        if unit in done:
            return
        for target in sorted(graph[unit]):
            visit(target, [*path, unit])
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])


def test_only_the_store_names_timestep_tables() -> None:
    wrong = []
    for module, path in _sources().items():
        if module.startswith("timestep.state"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TABLES.search(line):
                wrong.append(f"{module}:{number}: {line.strip()}")
    assert wrong == []


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        module: lines
        for module, path in _sources().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(long) <= set(LONG_MODULES), f"modules over {MAX_LINES} lines: {long}"
    for module, page in LONG_MODULES.items():
        assert module in (PACKAGE.parent.parent / page).read_text(encoding="utf-8")


def test_the_checks_catch_what_they_forbid() -> None:
    """The rules on a few made-up import lines (so a broken parser cannot pass them silently)."""
    assert _resolve("timestep.runs._detail", False, 2, "state._store") == "timestep.state._store"
    assert _resolve("timestep.state", True, 1, "_store") == "timestep.state._store"
    assert _private_owner("timestep.state._store") == "timestep.state"
    assert _private_owner("timestep.state.translate._api") == "timestep.state.translate"
    assert _private_owner("timestep._errors") == "timestep"
    assert _private_owner("timestep.state") is None
