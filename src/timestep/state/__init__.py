"""RunState persistence: the store, its records and decisions (the only owner of the tables)."""

from .backend import Backend
from .decisions import DecisionKind, DecisionOutcome, DecisionRecord, undecided
from .records import RUN_STATUSES, Language, PendingApproval, RunStatus, RunSummary, StoredState
from .store import RunStateStore

__all__ = [
    "RUN_STATUSES",
    "Backend",
    "DecisionKind",
    "DecisionOutcome",
    "DecisionRecord",
    "Language",
    "PendingApproval",
    "RunStateStore",
    "RunStatus",
    "RunSummary",
    "StoredState",
    "undecided",
]
