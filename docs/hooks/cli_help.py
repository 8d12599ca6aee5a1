"""MkDocs hook: put the ``timestep`` command's current ``--help`` output into the docs.

A page writes ``<!-- cli-help: runs show -->`` on a line of its own; the build replaces it with the
output of ``timestep runs show --help``, so the CLI reference always matches the installed code.
"""

from __future__ import annotations

import os
import re
from typing import Any

from typer.testing import CliRunner

MARKER = re.compile(r"^<!-- cli-help:(?P<args>[^>]*)-->$", re.M)


def _help(args: list[str]) -> str:
    from timestep.cli._app import app

    os.environ["COLUMNS"] = "100"
    os.environ["NO_COLOR"] = "1"
    os.environ["TERM"] = "dumb"
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="timestep")
    if result.exit_code != 0:
        raise RuntimeError(f"`timestep {' '.join(args)} --help` failed: {result.output}")
    text = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
    return f"```text\n{text}\n```"


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    return MARKER.sub(lambda match: _help(match["args"].split()), markdown)
