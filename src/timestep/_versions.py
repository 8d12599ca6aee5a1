"""The one place that records which SDK versions timestep's state work is tested against."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version

#: openai-agents release the RunState translation and vectors are tested against.
TESTED_PYTHON_SDK_VERSION = "0.24.0"
#: @openai/agents release the TypeScript companion is tested against.
TESTED_JS_SDK_VERSION = "0.20.0"
#: RunState schema written by the tested Python SDK.
PYTHON_STATE_SCHEMA = "1.21"
#: RunState schema written by the tested JS SDK.
JS_STATE_SCHEMA = "1.22"
#: DBOS release series whose step rows ``durable/_step_sql.py`` writes (others: DBOS's own code).
TESTED_DBOS_SERIES = "3.4"


@cache
def python_sdk_version() -> str:
    """The installed openai-agents version (read once per process)."""
    return version("openai-agents")


@cache
def dbos_version() -> str:
    """The installed dbos version (read once per process)."""
    return version("dbos")


@cache
def timestep_version() -> str:
    """The installed timestep version (read once per process)."""
    try:
        return version("timestep")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "(version unknown)"
