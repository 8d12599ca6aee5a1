"""The documentation site builds in strict mode, and strict mode really catches broken docs.

``mkdocs build --strict`` turns every warning into an error: a link to a missing page or anchor, an
unknown API cross-reference (``[name][timestep.name]``), a snippet include of a missing file, a page
missing from the nav. The built pages are then checked for the API reference of every public name.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).parent / "mkdocs"
REFERENCE = {
    "timestep": "reference/timestep/index.html",
    "timestep.durable": "reference/durable/index.html",
    "timestep.models": "reference/models/index.html",
    "timestep.tools": "reference/tools/index.html",
    "timestep.state.translate": "reference/translate/index.html",
    "timestep.models.local": "reference/models/index.html",
}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    return out


@pytest.mark.parametrize("module_name", sorted(REFERENCE))
def test_every_public_name_has_a_reference_entry(site: Path, module_name: str) -> None:
    html = (site / REFERENCE[module_name]).read_text()
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if f'id="{module_name}.{name}"' not in html]
    assert not missing, f"{module_name}: no reference entry for {missing}"


def test_examples_and_cli_help_are_rendered(site: Path) -> None:
    started = (site / "getting-started" / "index.html").read_text()
    assert "order_status" in started  # docs/examples/first_run.py, included verbatim
    cli = (site / "cli" / "index.html").read_text()
    assert "Usage: timestep worker" in cli  # the hook ran `timestep worker --help`
    assert "Usage: timestep runs prune" in cli
    assert "cli-help:" not in cli


def test_site_fetches_nothing_from_the_network(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, page


def test_strict_build_fails_on_broken_links_and_references(tmp_path: Path) -> None:
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "src").symlink_to(ROOT / "src")
    page = tmp_path / "docs" / "index.md"
    page.write_text(
        page.read_text()
        + "\n\nSee [a page](no-such-page.md) and [a name][timestep.no_such_name].\n"
    )
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert "no-such-page.md" in log
    assert "timestep.no_such_name" in log


def test_cli_reference_has_a_section_and_an_example_per_command() -> None:
    import typer

    from timestep.cli import app

    root: Any = typer.main.get_command(app)
    commands: list[str] = []
    for name, command in root.commands.items():
        if hasattr(command, "commands"):
            commands += [f"{name} {sub}" for sub in command.commands]
        else:
            commands.append(name)
    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for command in commands:
        section = page.split(f"\n## timestep {command}\n", 1)
        assert len(section) == 2, f"no section for 'timestep {command}'"
        body = section[1].split("\n## ", 1)[0]
        assert f"<!-- cli-help: {command} -->" in body, command
        assert f"timestep {command}" in body.split("<!-- cli-help")[0] or (
            command.split()[-1] in body.split("<!-- cli-help")[0]
        ), f"no example for 'timestep {command}'"
