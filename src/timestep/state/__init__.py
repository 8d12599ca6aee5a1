"""RunState persistence: the store, its records and decisions (the only owner of the tables)."""

from .backend import Backend
from .decisions import DecisionKind, DecisionOutcome, DecisionRecord, undecided
from .records import PendingApproval, RunStatus, RunSummary, StoredState
from .store import RunStateStore

__all__ = [
    "Backend",
    "DecisionKind",
    "DecisionOutcome",
    "DecisionRecord",
    "PendingApproval",
    "RunStateStore",
    "RunStatus",
    "RunSummary",
    "StoredState",
    "undecided",
]
