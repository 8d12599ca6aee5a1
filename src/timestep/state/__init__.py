"""RunState persistence: the store, its records and decisions (the only owner of the tables)."""

from ._backend import Backend
from ._decisions import DecisionKind, DecisionOutcome, DecisionRecord, undecided
from ._describe import StateFacts, detect_language, is_finished, parse_state_text, state_facts
from ._engine import default_url, display_url
from ._origins import Origin, origin_of, remember
from ._records import (
    RUN_STATUSES,
    Language,
    PendingApproval,
    RunStatus,
    RunSummary,
    StoredState,
    utc_now,
)
from ._session import open_session
from ._store import RunStateStore

__all__ = [
    "RUN_STATUSES",
    "Backend",
    "DecisionKind",
    "DecisionOutcome",
    "DecisionRecord",
    "Language",
    "Origin",
    "PendingApproval",
    "RunStateStore",
    "RunStatus",
    "RunSummary",
    "StateFacts",
    "StoredState",
    "default_url",
    "detect_language",
    "display_url",
    "is_finished",
    "open_session",
    "origin_of",
    "parse_state_text",
    "remember",
    "state_facts",
    "undecided",
    "utc_now",
]
