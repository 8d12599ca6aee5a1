"""Find agents given as ``module:attribute`` references and resume runs with them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents import Agent

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from ..state import RunStateStore


def load_agent(ref: str) -> Agent[Any]:
    """Import ``module:attribute`` (the current directory is importable) and return the agent."""
    module_name, sep, attribute = ref.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"agent reference {ref!r} is not of the form module:attribute")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"cannot import {module_name!r}: {error}") from error
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no attribute {attribute!r}") from None
    if callable(value) and not isinstance(value, Agent):
        value = value()
    if not isinstance(value, Agent):
        raise ConfigurationError(f"{ref!r} is a {type(value).__name__}, not an agents.Agent")
    return value


def agent_names(agent: Agent[Any]) -> set[str]:
    """Names of the agent and of every agent reachable from it through handoffs."""
    seen: set[str] = set()
    todo: list[Any] = [agent]
    while todo:
        current = todo.pop()
        if isinstance(current, Agent) and current.name not in seen:
            seen.add(current.name)
            todo.extend(getattr(h, "agent", h) for h in current.handoffs)
    return seen


class AgentRegistry:
    """The agents a server or worker can resume runs with, by agent name."""

    def __init__(self, agents: Iterable[Agent[Any]] = ()) -> None:
        self._by_name: dict[str, Agent[Any]] = {}
        for agent in agents:
            for name in agent_names(agent):
                self._by_name.setdefault(name, agent)

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def find(self, agent_name: str) -> Agent[Any] | None:
        """The root agent whose graph contains ``agent_name``."""
        return self._by_name.get(agent_name)


async def resume_run(store: RunStateStore, run_id: str, agent: Agent[Any] | None) -> str:
    """Resume a waiting run with its recorded decisions; returns its status afterwards.

    With ``agent`` the next durable segment runs in this process; without, it is queued for a
    ``timestep worker``.
    """
    from ..durable import resume

    await resume(run_id, store=store, agent=agent)
    return (await store.get(run_id)).status
