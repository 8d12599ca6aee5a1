"""The cyclic garbage collector in ``timestep worker`` processes (``$TIMESTEP_WORKER_GC``).

Hundreds of segments in flight keep hundreds of thousands of objects alive. With Python's
thresholds (a gen-0 collection every 700 net allocations) the collector scans them over and over:
in 1,000 concurrent runs it took a fifth of the wall time (docs/operations.md, "Garbage
collection in workers"). A worker process that is ready moves what start-up loaded (modules,
agents, DBOS) to the permanent generation (``gc.freeze``) and collects gen 0 every
``TIMESTEP_WORKER_GC`` net allocations instead. Cycles are still collected, less often; 0 keeps
Python's settings.
"""

from __future__ import annotations

import gc

from .._env import whole_number

#: The gen-0 threshold of worker processes when ``$TIMESTEP_WORKER_GC`` does not say.
DEFAULT_WORKER_GC = 200_000


def worker_gc_threshold() -> int:
    """``$TIMESTEP_WORKER_GC`` (default 200,000; 0 leaves the collector as Python set it)."""
    return whole_number("TIMESTEP_WORKER_GC", DEFAULT_WORKER_GC, 0)


def tune_gc(threshold: int) -> None:
    """Freeze start-up's objects and collect gen 0 every ``threshold`` allocations (0: no-op)."""
    if threshold == 0:
        return
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)
