"""The approvals inbox (``timestep serve``): a JSON API, live events and one web page."""

from ..state import DecisionRecord
from ._agents import AgentRegistry, load_agent, resume_run
from ._app import create_app
from ._auth import csrf_token, new_token
from ._decisions import decide, list_decisions
from ._openapi import openapi_schema
from ._runs import list_summaries, pending_approvals, run_detail
from ._serve import serve
from ._timeline import TimelineStep, build_timeline

__all__ = [
    "AgentRegistry",
    "DecisionRecord",
    "TimelineStep",
    "build_timeline",
    "create_app",
    "csrf_token",
    "decide",
    "list_decisions",
    "list_summaries",
    "load_agent",
    "new_token",
    "openapi_schema",
    "pending_approvals",
    "resume_run",
    "run_detail",
    "serve",
]
