"""A segment's agent-graph clone equals what ``Agent.clone`` gives, for any plain agent.

``_steps._clone`` copies a plain ``Agent``'s fields instead of running ``dataclasses.replace``
(issue 16, goal 2). Agents of every shape the SDK accepts are cloned both ways, with the changes
a segment makes (tools wrapped, handoffs emptied, a ``Model`` wrapped in ``DurableModel``), and
compared field by field; subclasses still take the SDK's path, their ``__post_init__`` included.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, ModelSettings, function_tool
from agents.agent_output import AgentOutputSchema
from agents.guardrail import GuardrailFunctionOutput, input_guardrail
from agents.testing import ScriptedModel, assistant_message
from pydantic import BaseModel

from timestep.durable._steps import DurableModel, _clone, wrap_agent


@function_tool
def lookup(order_id: str) -> str:
    """Look an order up."""
    return order_id


@input_guardrail
def allow(_ctx: Any, _agent: Any, _input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


class Answer(BaseModel):
    text: str


def _model() -> ScriptedModel:
    return ScriptedModel([[assistant_message("done")]])


AGENTS: dict[str, Any] = {
    "model instance, default settings": lambda: Agent(name="a", model=_model()),
    "model instance, own settings": lambda: Agent(
        name="a", model=_model(), model_settings=ModelSettings(temperature=0.2, max_tokens=9)
    ),
    "model name": lambda: Agent(name="a", model="gpt-4.1"),
    "gpt-5 name (reasoning defaults)": lambda: Agent(name="a", model="gpt-5"),
    "no model": lambda: Agent(name="a", instructions="Be brief."),
    "tools, guardrails, output type": lambda: Agent(
        name="a",
        model=_model(),
        tools=[lookup],
        input_guardrails=[allow],
        output_type=AgentOutputSchema(Answer),
        tool_use_behavior="stop_on_first_tool",
        reset_tool_choice=False,
        handoff_description="answers",
    ),
    "dynamic instructions": lambda: Agent(name="a", model=_model(), instructions=lambda c, a: "x"),
}


def _changes(agent: Agent[Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"tools": list(agent.tools), "handoffs": []}
    if agent.model is not None and not isinstance(agent.model, str):
        changes["model"] = DurableModel(agent.model)
    return changes


@pytest.mark.parametrize("shape", list(AGENTS))
def test_the_copy_equals_the_sdk_clone_field_by_field(shape: str) -> None:
    agent = AGENTS[shape]()
    changes = _changes(agent)
    ours, sdk = _clone(agent, changes), agent.clone(**changes)
    assert type(ours) is Agent and ours is not agent
    for f in dataclasses.fields(Agent):
        assert getattr(ours, f.name) == getattr(sdk, f.name), f.name
    assert ours.tools is changes["tools"] and ours.handoffs is changes["handoffs"]
    assert agent.handoffs is not ours.handoffs  # the original keeps its own lists
    ours.tools.append(lookup)
    assert len(agent.tools) == len(ours.tools) - 1


@dataclass
class Counted(Agent[Any]):
    """A subclass whose ``__post_init__`` does more than check: it must still run."""

    built: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[no-untyped-call]
        self.built += 1


def test_a_subclass_takes_the_sdk_path_with_its_post_init() -> None:
    agent = Counted(name="c", model=_model())
    assert agent.built == 1
    clone = _clone(agent, _changes(agent))
    assert type(clone) is Counted and clone.built == 2
    assert isinstance(clone.model, DurableModel)


def test_a_segment_graph_wraps_models_tools_and_handoffs_of_copied_agents() -> None:
    helper = Agent(name="helper", model=_model(), tools=[lookup])
    root = Agent(name="root", model=_model(), handoffs=[helper])
    helper.handoffs = [root]  # a cycle
    wrapped, graph = wrap_agent(root)
    assert wrapped is not root and isinstance(wrapped.model, DurableModel)
    [inner] = wrapped.handoffs
    assert isinstance(inner, Agent) and inner is graph.by_name["helper"]
    assert inner.handoffs == [wrapped]  # the cycle closes on the clones
    assert inner.tools[0] is not lookup and inner.tools[0].name == "lookup"
    assert root.handoffs == [helper] and helper.tools == [lookup]  # the originals are untouched
