"""Run inspection: the read models the CLI and the inbox share (lists, details, timelines, steps).

Reads go through the store (``RunStateStore``) and, for durable runs, DBOS's recorded steps
(``timestep.durable.recorded_steps``); nothing here writes.
"""

from ._activity import activity
from ._agents import AgentRegistry, agent_names, load_agent, resume_run
from ._conversation import ConversationItem, build_conversation
from ._detail import (
    list_summaries,
    pending_approvals,
    pretty_arguments,
    run_detail,
    run_error,
    summaries_page,
    summary_dict,
)
from ._durable_steps import durable_steps, with_durations
from ._timeline import TimelineStep, abbreviate, build_timeline, final_output

__all__ = [
    "AgentRegistry",
    "ConversationItem",
    "TimelineStep",
    "abbreviate",
    "activity",
    "agent_names",
    "build_conversation",
    "build_timeline",
    "durable_steps",
    "final_output",
    "list_summaries",
    "load_agent",
    "pending_approvals",
    "pretty_arguments",
    "resume_run",
    "run_detail",
    "run_error",
    "summaries_page",
    "summary_dict",
    "with_durations",
]
