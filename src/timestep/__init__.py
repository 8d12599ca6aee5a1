"""timestep: durable, resumable, cross-language OpenAI Agents SDK runs.

The small surface: :func:`run_agent`, :func:`consume_result`, :class:`RunStateStore`, the model
providers (:class:`MultiModelProvider`, :class:`MultiModelProviderMap`,
:class:`OllamaModelProvider`) and the :data:`web_search` tool. Everything else is optional depth.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    ConfigurationError,
    CorruptStateError,
    DurableStepError,
    LocalModelChecksumError,
    LocalModelError,
    ModelNotFoundError,
    ModelProviderError,
    ModelServerUnavailableError,
    RunCancelledError,
    RunFinishedError,
    RunNotFoundError,
    RunNotStreamedError,
    RunNotWaitingError,
    SchemaVersionError,
    StaleStateError,
    StateError,
    StateMismatchError,
    StoreSchemaError,
    StoreUnavailableError,
    TimestepError,
    TranslationError,
    UnknownCallError,
    UnknownLocalModelError,
    UnknownModelPrefixError,
    UnsupportedModelInputError,
    UnsupportedSchemaVersionError,
    UnsupportedStateFeatureError,
    WebSearchError,
)

if TYPE_CHECKING:
    from ._run import consume_result, run_agent
    from .models import MultiModelProvider, MultiModelProviderMap, OllamaModel, OllamaModelProvider
    from .state import (
        PendingApproval,
        RunStateStore,
        RunStatus,
        RunSummary,
        StoredState,
        open_session,
    )
    from .state.translate import to_python, to_typescript
    from .tools import web_search, web_search_tool

# Imported on first use, so that ``import timestep.cli`` (and ``timestep --help``) does not pay
# for importing the Agents SDK and DBOS.
_LAZY = {
    "consume_result": "._run",
    "run_agent": "._run",
    "MultiModelProvider": ".models",
    "MultiModelProviderMap": ".models",
    "OllamaModel": ".models",
    "OllamaModelProvider": ".models",
    "PendingApproval": ".state",
    "RunStateStore": ".state",
    "RunStatus": ".state",
    "RunSummary": ".state",
    "StoredState": ".state",
    "open_session": ".state",
    "to_python": ".state.translate",
    "to_typescript": ".state.translate",
    "web_search": ".tools",
    "web_search_tool": ".tools",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timestep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ApprovalAlreadyDecidedError",
    "ApprovalError",
    "ConfigurationError",
    "CorruptStateError",
    "DurableStepError",
    "LocalModelChecksumError",
    "LocalModelError",
    "ModelNotFoundError",
    "ModelProviderError",
    "ModelServerUnavailableError",
    "MultiModelProvider",
    "MultiModelProviderMap",
    "OllamaModel",
    "OllamaModelProvider",
    "PendingApproval",
    "RunCancelledError",
    "RunFinishedError",
    "RunNotFoundError",
    "RunNotStreamedError",
    "RunNotWaitingError",
    "RunStateStore",
    "RunStatus",
    "RunSummary",
    "SchemaVersionError",
    "StaleStateError",
    "StateError",
    "StateMismatchError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "StoredState",
    "TimestepError",
    "TranslationError",
    "UnknownCallError",
    "UnknownLocalModelError",
    "UnknownModelPrefixError",
    "UnsupportedModelInputError",
    "UnsupportedSchemaVersionError",
    "UnsupportedStateFeatureError",
    "WebSearchError",
    "consume_result",
    "open_session",
    "run_agent",
    "to_python",
    "to_typescript",
    "web_search",
    "web_search_tool",
]
