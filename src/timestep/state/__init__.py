"""RunState persistence: stores, records and the SQL schema."""

from .records import PendingApproval, RunStatus, RunSummary, StoredState
from .store import RunStateStore

__all__ = ["PendingApproval", "RunStateStore", "RunStatus", "RunSummary", "StoredState"]
