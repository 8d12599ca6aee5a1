"""Tools get threads of their own: a sync tool that blocks never holds up a checkpoint.

DBOS runs its system-database calls on its executor, which is also the event loop's default
executor, and so the pool ``asyncio.to_thread`` uses: the SDK runs sync function tools there too.
Sharing one pool, a few tools that block (HTTP calls, subprocesses) would stall every run's
checkpoints in the process, and a pool large enough for the tools makes the checkpoints compete
for the GIL in more threads than they need.

So once DBOS is launched its executor is replaced by :class:`RoutedExecutor`: work submitted while
a tool's body runs (:data:`in_tool`, set by the tool step wrapper) goes to a pool of
``$TIMESTEP_TOOL_THREADS`` threads, everything else to DBOS's own pool of
``$TIMESTEP_EXECUTOR_THREADS``. ``loop.run_in_executor`` calls ``submit`` in the calling task, so
the task's context decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

logger = logging.getLogger("timestep.durable")

T = TypeVar("T")

in_tool: ContextVar[bool] = ContextVar("timestep_in_tool", default=False)
"""True while a tool's body runs in this task (its thread calls take the tool pool)."""


@contextmanager
def tool_body() -> Iterator[None]:
    """Mark the current task as running a tool's body until the block ends."""
    token = in_tool.set(True)
    try:
        yield
    finally:
        in_tool.reset(token)


class RoutedExecutor(ThreadPoolExecutor):
    """DBOS's executor, with the work submitted from tool bodies sent to a pool of their own."""

    def __init__(self, checkpoints: ThreadPoolExecutor, tool_threads: int) -> None:
        super().__init__(max_workers=1)  # submit is overridden: this pool never starts a thread
        self.checkpoints = checkpoints
        self.tools = ThreadPoolExecutor(
            max_workers=tool_threads, thread_name_prefix="timestep-tool-"
        )

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        pool = self.tools if in_tool.get() else self.checkpoints
        return pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.checkpoints.shutdown(wait=wait, cancel_futures=cancel_futures)
        self.tools.shutdown(wait=wait, cancel_futures=cancel_futures)


def route_tools(tool_threads: int) -> None:
    """Give the launched DBOS's executor a separate pool for tools (once per launch)."""
    from dbos._dbos import _get_dbos_instance

    dbos = _get_dbos_instance()
    current = getattr(dbos, "_executor_field", None)
    if isinstance(current, RoutedExecutor):
        return
    if not isinstance(current, ThreadPoolExecutor):  # pragma: no cover - a DBOS we do not know
        logger.warning("DBOS's executor is not a thread pool: tools share its threads")
        return
    dbos._executor_field = RoutedExecutor(current, tool_threads)
