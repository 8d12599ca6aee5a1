"""Persisted names of timestep's DBOS workflows and steps.

These strings are stored in the DBOS system database and compared on replay and recovery: renaming
one makes recorded segments unrecoverable. They are compatibility data, pinned by
``tests/durable/test_durable_run.py``, ``test_durable_mcp.py`` and ``test_durable_sessions.py``;
change them only together with ``APPLICATION_VERSION``.
"""

from __future__ import annotations

#: The workflow that runs one uninterrupted stretch of a run.
SEGMENT_WORKFLOW = "timestep.segment"
#: A non-streamed model call.
MODEL_STEP = "timestep.model.get_response"
#: A streamed model call (its checkpoint is the completed Response).
MODEL_STREAM_STEP = "timestep.model.stream_response"
#: Reads the approval decisions a resumed segment applies.
DECISIONS_STEP = "timestep.approvals.read"
#: Reads a session's history at the start of a run (its checkpoint is the history used).
SESSION_READ_STEP = "timestep.session.read"
#: Appends a finished run's new items to its session (idempotent).
SESSION_WRITE_STEP = "timestep.session.write"
#: Records a failed segment's end (and, in segments before 2026-12-02, a fork's final save).
SAVE_STEP = "timestep.state.save"
#: Reads the version a fork's segment extends, just before its final save (its checkpoint is the
#: version, so a replay after a crash finds the fork's own save instead of writing another).
FORK_BASE_STEP = "timestep.fork.base"


def tool_step(tool_name: str) -> str:
    """Step name of a function-tool call."""
    return f"timestep.tool:{tool_name}"


def mcp_step(tool_name: str) -> str:
    """Step name of a call to a tool of one of the agent's MCP servers (its public tool name)."""
    return f"timestep.mcp:{tool_name}"


def mcp_list_step(server_name: str) -> str:
    """Step name of listing the tools of one of the agent's MCP servers (once per turn)."""
    return f"timestep.mcp.list:{server_name}"


#: Key under which an MCP tool call's idempotency key is sent in the request's ``_meta``.
MCP_IDEMPOTENCY_META_KEY = "timestep/idempotency-key"


def handoff_step(tool_name: str) -> str:
    """Step name of a handoff invocation."""
    return f"timestep.handoff:{tool_name}"


def segment_id(run_id: str, base_version: int) -> str:
    """Workflow id of the segment that continues ``run_id`` from stored version ``base_version``.

    Version 0 means the run's first segment. Being a pure function of the run and the version it
    starts from, two processes resuming the same waiting run name the same workflow, and DBOS runs
    it once.
    """
    return f"{run_id}@{base_version}"


#: DBOS application names of timestep's segments: Python's, and the TypeScript package's
#: (``@timestep-ai/timestep`` runs its segments under its own application, version and queue).
APPLICATION_NAMES = ("timestep", "timestep-ts")
