"""What every ``timestep`` command shares: the Typer apps, consoles, options and store helpers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .._errors import ConfigurationError

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="timestep",
    help="Durable, resumable OpenAI Agents SDK runs: run, inspect, approve, resume, serve.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the store's database.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(db_app, name="db")


@dataclass
class Settings:
    """Options given before the command (``timestep --db URL --verbose ...``)."""

    db: str | None = None
    verbose: bool = False


settings = Settings()

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store URL (default: --db before the command, $TIMESTEP_DB, "
        "else sqlite:///timestep.db).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripting.")]


def _db(db: str | None) -> str:
    return db or settings.db or os.environ.get("TIMESTEP_DB") or "sqlite:///timestep.db"


def _run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def _check_target(url: str) -> str:
    """``url``, or a typed error when it is neither a database URL nor a ``.json`` file."""
    if "://" not in url and not url.lower().endswith(".json"):
        raise ConfigurationError(
            f"store {url!r} is neither a database URL nor a .json file: use "
            f"'sqlite:///{url}' for SQLite, or a path ending in .json for a file store"
        )
    return url


def _shown(url: str) -> str:
    """A store URL as it may be printed (no password)."""
    from ..state import display_url

    return display_url(url) if "://" in url else url


def _store(db: str | None) -> Any:
    from ..state import RunStateStore

    return RunStateStore(_check_target(_db(db)))


def _missing_file(url: str) -> Path | None:
    """The file a SQLite or JSON store would live in, when it does not exist yet."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0]).expanduser()
    elif "://" not in url:
        path = Path(url).expanduser()
    else:
        return None
    return None if path.exists() or str(path) == ":memory:" else path


def _existing_store(db: str | None, what: str) -> Any:
    """The store for a command that only reads or changes existing runs (never creates a file)."""
    from .._errors import RunNotFoundError

    url = _check_target(_db(db))
    missing = _missing_file(url)
    if missing is not None:
        raise RunNotFoundError(
            f"{what}: store {url} does not exist ({missing} not found); check --db or $TIMESTEP_DB"
        )
    return _store(db)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise typer.BadParameter("not a terminal to confirm on; add --yes", param_hint="--yes")
    if not typer.confirm(question):
        raise typer.Abort()


async def _exists(store: Any, run_id: str) -> bool:
    from .._errors import RunNotFoundError

    try:
        await store.get(run_id)
    except RunNotFoundError:
        return False
    return True
