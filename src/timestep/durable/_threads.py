"""Which thread runs what: tools get threads of their own, a step's reads stay on the loop.

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

An async DBOS step hops to that pool three times (dbos 3.4, ``_outcome.Pending``): to pick the
function that records the output (no I/O), to check for a recorded output and to record it. Each
hop costs a thread wake-up and the GIL's hand-over both ways, and slows the code around it. In a
segment's workflow (:data:`in_segment`) the first runs on the loop, and on a SQLite system
database the check too: two SELECTs outside any transaction, and in WAL mode a reader never waits
for a writer. The record, a write that may wait for another writer's lock, keeps its thread, as
does every call on Postgres (a network round trip would hold up the loop's other runs). Only while
the process runs no more segments than the pool has threads: with hundreds at once the loop is
the busy part, and the threads run the calls beside it (1,000 runs queued on two SQLite workers
drained 20% slower with every check on the loop; bench/README.md, 2026-12-06).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from .._env import DEFAULT_EXECUTOR_THREADS

logger = logging.getLogger("timestep.durable")

T = TypeVar("T")

in_tool: ContextVar[bool] = ContextVar("timestep_in_tool", default=False)
"""True while a tool's body runs in this task (its thread calls take the tool pool)."""

in_segment: ContextVar[bool] = ContextVar("timestep_in_segment", default=False)
"""True while a segment's workflow runs in this task (its steps' hops may run on the loop)."""

_running = [0]
"""Segments running in this process (:func:`enter_segment`, :func:`leave_segment`)."""
_running_lock = threading.Lock()

#: DBOS's functions around an async step that run on the loop, by (module, qualified name):
#: picking the step's recording function, and on SQLite the check for a recorded output.
_NO_IO = frozenset({("dbos._outcome", "Pending.then.<locals>.<lambda>.<locals>.<lambda>")})
_SQLITE_READS = frozenset({("dbos._core", "invoke_step.<locals>.check_existing_result")})


def _target(fn: Callable[..., Any]) -> tuple[str, str]:
    """``(module, qualname)`` of the function ``asyncio.to_thread`` wrapped in ``fn``."""
    if isinstance(fn, functools.partial) and fn.args:
        inner = fn.args[0]
        return getattr(inner, "__module__", ""), getattr(inner, "__qualname__", "")
    return "", ""


def enter_segment() -> Token[bool]:
    """Mark the current task as running a segment's workflow (until :func:`leave_segment`)."""
    with _running_lock:
        _running[0] += 1
    return in_segment.set(True)


def leave_segment(token: Token[bool]) -> None:
    """End what :func:`enter_segment` began."""
    in_segment.reset(token)
    with _running_lock:
        _running[0] -= 1


@contextmanager
def tool_body() -> Iterator[None]:
    """Mark the current task as running a tool's body until the block ends."""
    token = in_tool.set(True)
    try:
        yield
    finally:
        in_tool.reset(token)


class RoutedExecutor(ThreadPoolExecutor):
    """DBOS's executor: tool bodies' work to a pool of their own, a step's reads on the loop."""

    def __init__(
        self,
        checkpoints: ThreadPoolExecutor,
        tool_threads: int,
        sqlite: bool = False,
        loop_runs: int = DEFAULT_EXECUTOR_THREADS,
    ) -> None:
        super().__init__(max_workers=1)  # submit is overridden: this pool never starts a thread
        self.checkpoints = checkpoints
        self.inline = _NO_IO | _SQLITE_READS if sqlite else _NO_IO
        self.loop_runs = loop_runs
        """The most segments running in the process for which the calls stay on the loop."""
        self.tools = ThreadPoolExecutor(
            max_workers=tool_threads, thread_name_prefix="timestep-tool-"
        )

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if in_tool.get():
            return self.tools.submit(fn, *args, **kwargs)
        if (
            in_segment.get()
            and _running[0] <= self.loop_runs
            and _target(fn) in self.inline
            and _on_loop()
        ):
            return _run_here(fn, *args, **kwargs)
        return self.checkpoints.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.checkpoints.shutdown(wait=wait, cancel_futures=cancel_futures)
        self.tools.shutdown(wait=wait, cancel_futures=cancel_futures)


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_here(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """``fn`` run now on this thread, as a finished future."""
    future: Future[T] = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except BaseException as error:  # the awaiting task sees it, as from a thread
        future.set_exception(error)
    return future


def route_tools(
    tool_threads: int, sqlite: bool = False, loop_runs: int = DEFAULT_EXECUTOR_THREADS
) -> None:
    """Route the launched DBOS's executor (once per launch); ``sqlite``: its system database."""
    from dbos._dbos import _get_dbos_instance

    dbos = _get_dbos_instance()
    current = getattr(dbos, "_executor_field", None)
    if isinstance(current, RoutedExecutor):
        return
    if not isinstance(current, ThreadPoolExecutor):  # pragma: no cover - a DBOS we do not know
        logger.warning("DBOS's executor is not a thread pool: tools share its threads")
        return
    dbos._executor_field = RoutedExecutor(current, tool_threads, sqlite, loop_runs)
