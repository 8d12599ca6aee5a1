"""The unique-names path for the SDK's agent identities gives exactly the SDK's own answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import Agent, AgentHooks, Runner
from agents import _run_state_agent_identity as identity
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.refund_agent import build_agent, start_model
from timestep.state import _store  # noqa: F401  (importing the store installs the path)
from timestep.state._identity import ORIGINALS


class _Hooks(AgentHooks[Any]):
    def __init__(self, tag: str) -> None:
        self.tag = tag


@st.composite
def graphs(draw: st.DrawFn) -> Agent[Any]:
    """Agent graphs of 1-6 agents: names often shared, random handoffs (cycles too), hooks."""
    count = draw(st.integers(1, 6))
    agents = [
        Agent(
            name=draw(st.sampled_from(["a", "b", "c", "d", "e", "f"])),
            instructions=draw(st.sampled_from(["x", "y", None])),
            hooks=_Hooks(draw(st.sampled_from(["1", "2"]))) if draw(st.booleans()) else None,
        )
        for _ in range(count)
    ]
    for agent in agents:
        agent.handoffs = list(draw(st.lists(st.sampled_from(agents), max_size=3)))
    return agents[draw(st.integers(0, count - 1))]


def test_the_sdk_functions_are_wrapped() -> None:
    assert set(ORIGINALS) == {"_get_ambiguous_agent_ids", "_build_agent_identity_map"}
    assert identity._build_agent_identity_map is not ORIGINALS["_build_agent_identity_map"]


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_same_identities_as_the_sdk_on_any_graph(root: Agent[Any]) -> None:
    fast = identity._build_agent_identity_map(root)
    slow = ORIGINALS["_build_agent_identity_map"](root)
    assert [(key, id(agent)) for key, agent in fast.items()] == [
        (key, id(agent)) for key, agent in slow.items()
    ]
    assert identity._get_ambiguous_agent_ids(root) == ORIGINALS["_get_ambiguous_agent_ids"](root)
    assert identity._build_agent_identity_keys_by_id(root) == {
        id(agent): key for key, agent in slow.items()
    }


async def test_to_json_is_byte_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    state = result.to_state()
    fast = json.dumps(state.to_json(), sort_keys=True)
    import agents.run_state as run_state

    for module in (identity, run_state):
        for name, original in ORIGINALS.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, original)
    assert json.dumps(state.to_json(), sort_keys=True) == fast
