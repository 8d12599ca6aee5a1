"""RunState persistence: the store, its records and decisions (the only owner of the tables)."""

from .backend import Backend
from .decisions import DecisionKind, DecisionOutcome, DecisionRecord, undecided
from .describe import StateFacts, detect_language, is_finished, parse_state_text, state_facts
from .origins import Origin, origin_of, remember
from .records import RUN_STATUSES, Language, PendingApproval, RunStatus, RunSummary, StoredState
from .session import open_session
from .store import RunStateStore

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
    "detect_language",
    "is_finished",
    "open_session",
    "origin_of",
    "parse_state_text",
    "remember",
    "state_facts",
    "undecided",
]
