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

One submission runs where it is made instead: DBOS's async step first hops to a thread only to
call ``lambda: next`` (dbos 3.4, ``Pending.then``), which hands back the step's recording
function and does nothing else. :data:`_IDLE_HOP` is that lambda's code, found in DBOS's own
``Pending.then``; a DBOS whose code has another shape gets no shortcut (every call goes to a
thread, as before).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from types import CodeType
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


def _idle_hop() -> CodeType | None:
    """The code of ``lambda: next`` in DBOS's ``Pending.then``; None when it is not there."""
    try:
        from dbos._outcome import Pending
    except ImportError:  # pragma: no cover - a DBOS without this module
        return None
    outer = [c for c in Pending.then.__code__.co_consts if isinstance(c, CodeType)]
    inner = [c for o in outer for c in o.co_consts if isinstance(c, CodeType)]
    if len(outer) != 1 or len(inner) != 1:
        return None
    code = inner[0]
    plain = code.co_argcount == 0 and code.co_freevars == ("next",) and not code.co_names
    return code if plain and code.co_name == "<lambda>" else None


#: DBOS's hop that only hands back a function: run where it is submitted (see the module doc).
_IDLE_HOP = _idle_hop()


def _is_idle_hop(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """``fn`` is ``asyncio.to_thread``'s call of DBOS's idle lambda in the task's context."""
    if _IDLE_HOP is None or args or not isinstance(fn, functools.partial):
        return False
    inner = fn.args[0] if len(fn.args) == 1 and not fn.keywords else None
    return getattr(inner, "__code__", None) is _IDLE_HOP


def _run_here(fn: Callable[..., T]) -> Future[T]:
    future: Future[T] = Future()
    try:
        future.set_result(fn())
    except BaseException as error:  # handed to the awaiting task, as a thread would
        future.set_exception(error)
    return future


class RoutedExecutor(ThreadPoolExecutor):
    """DBOS's executor, with the work submitted from tool bodies sent to a pool of their own."""

    def __init__(self, checkpoints: ThreadPoolExecutor, tool_threads: int) -> None:
        super().__init__(max_workers=1)  # submit is overridden: this pool never starts a thread
        self.checkpoints = checkpoints
        self.tools = ThreadPoolExecutor(
            max_workers=tool_threads, thread_name_prefix="timestep-tool-"
        )

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if not kwargs and _is_idle_hop(fn, args):
            return _run_here(fn)
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
