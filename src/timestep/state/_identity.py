"""A faster, output-identical path for the SDK's agent identities when every agent name is unique.

``RunState.to_json`` (and the Runner's tool-use tracker) asks ``agents._run_state_agent_identity``
for the agent graph's identities four or five times per call. Each time it builds a JSON
signature of every agent (instructions, model, tools and their schemas, ...) to tell apart agents
that share a name. When no two agents in the graph share a name the signatures cannot change the
answer: every name is its own group, so no agent is ambiguous and each agent's identity is its
name. :func:`install` wraps the two graph-level functions with that case (same result, same order)
and leaves every other graph to the SDK's own code. It was 60-75% of a ``to_json`` call's CPU in
timestep's durable segments (``bench/profile_durable.py``). Checked against the SDK's own code by
``tests/state/test_identity_fast_path.py``; if the pinned SDK no longer has these functions,
nothing is patched.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._sdk_patch import swap_in

_MODULE = "agents._run_state_agent_identity"
#: Modules that imported the wrapped functions by name (they hold their own references).
_IMPORTERS = ("agents.run_state", "agents.run_internal.tool_use_tracker")
#: The SDK's own functions, by name, once :func:`install` wrapped them (tests compare against them).
ORIGINALS: dict[str, Callable[[Any], Any]] = {}


def _unique_graph(iter_graph: Callable[[Any], Any], initial: Any) -> list[Any] | None:
    """The graph's agents in the SDK's order if no two share a name, else None."""
    agents = list(iter_graph(initial))
    names = {agent.name for agent in agents}
    return agents if len(names) == len(agents) else None


def install() -> bool:
    """Wrap the SDK's identity functions with the unique-names path (once); whether it is on."""
    if ORIGINALS:
        return True
    try:
        identity = importlib.import_module(_MODULE)
        iter_graph = identity._iter_agent_graph
        original_ambiguous = identity._get_ambiguous_agent_ids
        original_map = identity._build_agent_identity_map
    except (ImportError, AttributeError):
        return False

    def get_ambiguous_agent_ids(initial_agent: Any) -> set[int]:
        if _unique_graph(iter_graph, initial_agent) is not None:
            return set()
        result: set[int] = original_ambiguous(initial_agent)
        return result

    def build_agent_identity_map(initial_agent: Any) -> dict[str, Any]:
        agents = _unique_graph(iter_graph, initial_agent)
        if agents is not None:
            return {agent.name: agent for agent in agents}
        result: dict[str, Any] = original_map(initial_agent)
        return result

    replacements = {
        "_get_ambiguous_agent_ids": get_ambiguous_agent_ids,
        "_build_agent_identity_map": build_agent_identity_map,
    }
    ORIGINALS.update(
        _get_ambiguous_agent_ids=original_ambiguous, _build_agent_identity_map=original_map
    )
    swap_in((_MODULE, *_IMPORTERS), replacements, ORIGINALS)
    return True
