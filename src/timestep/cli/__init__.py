"""The ``timestep`` command (Typer + Rich)."""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer.exceptions import TyperException

from .._errors import TimestepError
from . import _app  # noqa: F401  (defines the commands on ``app``)
from ._common import app, err, settings

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns 0 on success, 1 on errors, 2 on usage errors."""
    if argv is None and not os.environ.get("OPENAI_API_KEY"):
        # Nowhere to export traces to: keep the SDK's warning out of the command's output.
        os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="timestep", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except TyperException as error:
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {error.format_message()}", markup=False)
        return int(error.exit_code)
    except typer.Abort:
        err.print("aborted")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:
        if settings.verbose or "--verbose" in args or "-v" in args:
            traceback.print_exc()
        kind = "error" if isinstance(error, TimestepError) else type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        err.print(f"{kind}: {message}", markup=False)
        return 1
    return int(result) if isinstance(result, int) else 0
