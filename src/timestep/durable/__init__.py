"""Durable execution on DBOS: every model call, tool call and handoff a checkpointed step.

See ``docs`` and the module docstrings of ``_config`` (system database, application version),
``_steps`` (what is a step), ``_approvals`` and ``_stream``.
"""

from ._api import (
    enqueue_run,
    list_runs,
    resume,
    run_durable,
    worker,
)
from ._config import APPLICATION_VERSION, system_database_url
from ._control import cancel_run, fork_run
from ._decide import Decision, answer, approve, reject
from ._executors import ActiveSegment, Executor, list_activity
from ._history import DurableStep, recorded_steps
from ._runtime import prepare_system_database, register_agent, shutdown
from ._steps import idempotency_key
from ._stream_reader import attach_stream
from ._stream_text import StreamText, TextChange, stream_text

__all__ = [
    "APPLICATION_VERSION",
    "ActiveSegment",
    "Decision",
    "DurableStep",
    "Executor",
    "StreamText",
    "TextChange",
    "answer",
    "approve",
    "attach_stream",
    "cancel_run",
    "enqueue_run",
    "fork_run",
    "idempotency_key",
    "list_activity",
    "list_runs",
    "prepare_system_database",
    "recorded_steps",
    "register_agent",
    "reject",
    "resume",
    "run_durable",
    "shutdown",
    "stream_text",
    "system_database_url",
    "worker",
]
