"""Turn stored state JSON back into the SDK's ``RunState``, with errors that name their cause.

The SDK redacts load errors and silently accepts a state whose pending tool no longer exists; here
the document is checked against the given agent graph first, so a mismatch is reported precisely.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Iterator
from typing import Any

from agents import Agent, Handoff, RunState
from agents import run_state as run_state_module
from agents.exceptions import UserError
from agents.run_state import SUPPORTED_SCHEMA_VERSIONS

from .._errors import CorruptStateError, SchemaVersionError, StateMismatchError
from ._describe import state_facts


def walk_agents(agent: Agent[Any]) -> Iterator[Agent[Any]]:
    """Every agent reachable from ``agent`` through handoffs, each once."""
    seen: set[int] = set()
    stack: list[Agent[Any]] = [agent]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for target in current.handoffs:
            if isinstance(target, Agent):
                stack.append(target)
            elif isinstance(target, Handoff):
                ref = getattr(target, "_agent_ref", None)
                resolved = ref() if callable(ref) else None
                if isinstance(resolved, Agent):
                    stack.append(resolved)


def _tool_names(agent: Agent[Any]) -> set[str]:
    names = {getattr(tool, "name", "") for tool in agent.tools}
    for target in agent.handoffs:
        if isinstance(target, Handoff):
            names.add(target.tool_name)
    return names


def check_against_graph(doc: dict[str, Any], agent: Agent[Any]) -> None:
    """Raise ``StateMismatchError`` if the state names agents or pending tools the graph lacks."""
    facts = state_facts(doc)
    agents = {a.name: a for a in walk_agents(agent)}
    if facts.agent_name not in agents:
        raise StateMismatchError(
            f"state's current agent {facts.agent_name!r} is not in the agent graph "
            f"starting at {agent.name!r} (agents: {', '.join(sorted(agents))})"
        )
    for pending in facts.pending_approvals:
        owner = agents.get(pending.agent_name) or agents[facts.agent_name]
        if owner.mcp_servers:  # an MCP server's tools are listed by the server at run time
            continue
        tools = _tool_names(owner)
        if pending.tool_name not in tools:
            raise StateMismatchError(
                f"pending call {pending.call_id!r} is for tool {pending.tool_name!r}, which agent "
                f"{owner.name!r} does not have (tools: {', '.join(sorted(tools)) or 'none'})"
            )


def check_schema(doc: dict[str, Any]) -> None:
    """Raise ``SchemaVersionError`` unless the installed SDK reads this state's schema."""
    version = state_facts(doc).schema_version
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        newest = max(SUPPORTED_SCHEMA_VERSIONS, key=lambda v: tuple(int(p) for p in v.split(".")))
        raise SchemaVersionError(
            f"state schema version {version!r} is not readable by the installed openai-agents "
            f"(it reads 1.0 to {newest}); a newer SDK or a translation is needed"
        )


async def restore_state(doc: dict[str, Any], agent: Agent[Any]) -> RunState[Any, Agent[Any]]:
    """Validate ``doc`` (a Python-format state) against ``agent`` and build the SDK's RunState."""
    check_schema(doc)
    check_against_graph(doc, agent)
    try:
        return await RunState.from_json(agent, doc)
    except UserError as error:
        raise StateMismatchError(f"the SDK refused the state: {error}") from error
    except Exception as error:  # the SDK redacts most causes; find the real one
        cause = await _real_cause(doc, agent) or f"{type(error).__name__}: {error}"
        raise CorruptStateError(f"the SDK cannot rebuild the state: {cause}") from None


async def _real_cause(doc: dict[str, Any], agent: Agent[Any]) -> str | None:
    """Re-run the SDK's builder without its redaction to name why ``doc`` was rejected.

    ``RunState.from_json`` replaces most errors with "Error details are redacted." (so traces do
    not leak state data); the operator of the store needs the cause, so it is rebuilt here from
    the SDK's internal builder (pinned SDK version), on a copy of the document.
    """
    build = getattr(run_state_module, "_build_run_state_from_json", None)
    if build is None:  # pragma: no cover - only with an SDK other than the pinned one
        return None
    try:
        await build(initial_agent=agent, state_json=copy.deepcopy(doc))
    except Exception as error:
        where = _innermost_sdk_frame(error)
        detail = str(error).strip().replace("\n", " ")
        if len(detail) > 300:
            detail = detail[:300] + "..."
        return f"{type(error).__name__}: {detail}" + (f" (in {where})" if where else "")
    return None


def _innermost_sdk_frame(error: BaseException) -> str | None:
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if "/agents/" in f.filename.replace("\\", "/")]
    return inside[-1].name if inside else None
