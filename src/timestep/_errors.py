"""Typed errors raised by timestep. Every message names its cause."""

from __future__ import annotations


class TimestepError(Exception):
    """Base class of every error timestep raises on purpose."""


class StateError(TimestepError):
    """A stored or given RunState cannot be used."""


class CorruptStateError(StateError):
    """The state is not valid JSON or not a RunState document."""


class SchemaVersionError(StateError):
    """The state was written with a schema version this SDK cannot read."""


class StateMismatchError(StateError):
    """The state names agents or tools that the given agent graph does not have."""


class RunFinishedError(StateError):
    """The state belongs to a run that already produced its final output."""


class RunNotFoundError(TimestepError, LookupError):
    """No run (or no such version of a run) is stored under the given id."""


class StaleStateError(TimestepError):
    """A save was based on an older version than the latest stored one."""

    def __init__(self, run_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"run {run_id!r}: save was based on version {expected}, but version {actual} "
            "is already stored; load the latest state and apply your change again"
        )
        self.run_id = run_id
        self.expected = expected
        self.actual = actual


class StoreUnavailableError(TimestepError):
    """The store's database or file is locked, missing or unreachable."""


class StoreSchemaError(TimestepError):
    """The store's database is at a schema revision this timestep does not know (newer)."""


class ConfigurationError(TimestepError, ValueError):
    """An argument or environment setting is invalid."""


class ApprovalError(TimestepError):
    """An approval or rejection cannot be applied (unknown call, already decided, ...)."""


class ApprovalAlreadyDecidedError(ApprovalError):
    """The tool call was already approved or rejected for this version of the run."""


class UnknownModelPrefixError(ConfigurationError):
    """A model name uses a provider prefix that no provider is registered for."""


class ModelProviderError(TimestepError):
    """A model server failed: HTTP error, missing model, server down."""


class ModelNotFoundError(ModelProviderError, LookupError):
    """The model server answered but does not have the requested model."""


class ModelServerUnavailableError(ModelProviderError, ConnectionError):
    """No model server answers at the configured address."""


class UnsupportedModelInputError(ConfigurationError):
    """An input item, tool or setting that the chosen model provider cannot represent."""


class TranslationError(StateError):
    """A state cannot be translated between the Python and TypeScript SDK formats."""


class LocalModelError(TimestepError):
    """The offline local model could not be built, downloaded, verified or started."""


class UnknownLocalModelError(LocalModelError, ConfigurationError):
    """A `local/` model name that is not one of the available local models."""


class WebSearchError(TimestepError):
    """A web search backend failed (HTTP error, timeout, bad key) or none is available."""


class DurableStepError(TimestepError):
    """A recorded durable step failed with an error that cannot be rebuilt as its own class."""

    def __init__(self, message: str, *, original_type: str = "") -> None:
        super().__init__(message)
        self.original_type = original_type


class RunNotWaitingError(ApprovalError):
    """The run is not waiting for a decision (already resumed, finished, or never paused)."""


class UnknownCallError(ApprovalError, LookupError):
    """No pending approval with that call id exists in the run's waiting state."""


class LocalModelChecksumError(LocalModelError):
    """The assembled local-model weights do not have the expected size or sha256."""


class UnsupportedStateFeatureError(TranslationError):
    """The state uses a feature the Python <-> TypeScript translation does not cover."""

    def __init__(self, feature: str, *, source: str, target: str, detail: str = "") -> None:
        message = (
            f"cannot translate RunState feature {feature!r} from {source} to {target}"
            + (f": {detail}" if detail else "")
            + "; resume this run in the language that wrote it"
        )
        super().__init__(message)
        self.feature = feature
        self.source = source
        self.target = target


class UnsupportedSchemaVersionError(TranslationError):
    """The state's ``$schemaVersion`` has no translation module."""

    def __init__(self, schema_version: object, language: str, supported: list[str]) -> None:
        super().__init__(
            f"no translation for {language} RunState schema {schema_version!r}; "
            f"supported {language} schemas: {', '.join(supported)}"
        )
        self.schema_version = schema_version
        self.language = language
        self.supported = supported


class RunCancelledError(TimestepError):
    """The durable run was cancelled or exceeded its timeout."""


class RunNotStreamedError(TimestepError):
    """The run exists but writes no durable stream (it was not started with ``stream=True``)."""
