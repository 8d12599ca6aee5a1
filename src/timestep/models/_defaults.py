"""The defaults every timestep run starts from: the SDK's turn limit, timestep's model routing."""

from __future__ import annotations

import dataclasses

from agents import RunConfig
from agents.models.multi_provider import MultiProvider

from ._multi_provider import MultiModelProvider

#: The turn limit of a run when none is given (the SDK's own default).
DEFAULT_MAX_TURNS = 10


def with_default_provider(run_config: RunConfig | None) -> RunConfig:
    """``run_config`` (or a new one) routing models through ``MultiModelProvider`` by default.

    A ``run_config`` naming its own model provider is returned unchanged.
    """
    config = run_config or RunConfig()
    if type(config.model_provider) is MultiProvider:
        return dataclasses.replace(config, model_provider=MultiModelProvider())
    return config
