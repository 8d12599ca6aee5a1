"""timestep: durable, resumable, cross-language OpenAI Agents SDK runs.

The small surface: :func:`run_agent`, :func:`consume_result`, :class:`RunStateStore`, the model
providers (:class:`MultiModelProvider`, :class:`MultiModelProviderMap`,
:class:`OllamaModelProvider`) and the :data:`web_search` tool. Everything else is optional depth.
"""

from ._errors import (
    ApprovalError,
    ConfigurationError,
    CorruptStateError,
    ModelProviderError,
    RunFinishedError,
    RunNotFoundError,
    SchemaVersionError,
    StaleStateError,
    StateError,
    StateMismatchError,
    StoreUnavailableError,
    TimestepError,
    TranslationError,
    UnknownModelPrefixError,
)
from ._run import consume_result, run_agent
from .models import MultiModelProvider, MultiModelProviderMap, OllamaModel, OllamaModelProvider
from .state import PendingApproval, RunStateStore, RunStatus, RunSummary, StoredState
from .state.session import open_session
from .tools import web_search, web_search_tool

__all__ = [
    "ApprovalError",
    "ConfigurationError",
    "CorruptStateError",
    "ModelProviderError",
    "MultiModelProvider",
    "MultiModelProviderMap",
    "OllamaModel",
    "OllamaModelProvider",
    "PendingApproval",
    "RunFinishedError",
    "RunNotFoundError",
    "RunStateStore",
    "RunStatus",
    "RunSummary",
    "SchemaVersionError",
    "StaleStateError",
    "StateError",
    "StateMismatchError",
    "StoreUnavailableError",
    "StoredState",
    "TimestepError",
    "TranslationError",
    "UnknownModelPrefixError",
    "consume_result",
    "open_session",
    "run_agent",
    "web_search",
    "web_search_tool",
]
