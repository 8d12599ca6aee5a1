"""Where the libraries' logs go when the ``timestep`` command runs.

By default DBOS, the Agents SDK and timestep log to a file (``$TIMESTEP_LOG_FILE``, else
``timestep.log`` in the user's log directory), so a command's output is its own: one line per
error, no tracebacks or library warnings. With ``-v`` they go to stderr instead.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

HANDLER_NAME = "__timestep_cli_log_handler__"
LIBRARY_LOGGERS = ("dbos", "openai.agents", "timestep", "uvicorn", "alembic")
SEGMENT_LOGGER = "timestep.segments"


def log_path() -> Path:
    """The log file the command writes library logs to."""
    configured = os.environ.get("TIMESTEP_LOG_FILE")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_log_path

    return user_log_path("timestep") / "timestep.log"


class _LazyFileHandler(logging.FileHandler):
    """A file handler that creates the log's directory when it first writes."""

    def _open(self):  # type: ignore[no-untyped-def]
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def _attach(handler: logging.Handler, names: tuple[str, ...], level: int | None) -> None:
    handler.name = HANDLER_NAME
    for name in names:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.name == HANDLER_NAME]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.propagate = False  # also keeps DBOS from adding its own console handler
        if level is not None:
            logger.setLevel(level)


def configure(verbose: bool) -> None:
    """Send library logs to the log file, or (``verbose``) to stderr at INFO."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        _attach(handler, LIBRARY_LOGGERS, logging.INFO)
    else:
        handler = _LazyFileHandler(log_path(), delay=True, encoding="utf-8")
        handler.setFormatter(formatter)
        _attach(handler, LIBRARY_LOGGERS, None)


def show_segments() -> None:
    """Print each durable segment a worker runs (``timestep.segments``) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.name = HANDLER_NAME + "segments"
    logger = logging.getLogger(SEGMENT_LOGGER)
    for old in [h for h in logger.handlers if h.name == handler.name]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
