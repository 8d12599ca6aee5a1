"""SQLite writers of one file queue for its write lock, across threads and processes.

SQLite lets one writer in at a time; a writer that finds the lock taken sleeps in SQLite's busy
handler, 1, 2, 5, 10 ms and longer between tries, while a durable step's write holds the lock for
a fraction of a millisecond. Writers of a busy file (worker processes sharing DBOS's SQLite system
database) then spend much of their time asleep beside a free lock.

:func:`queue_writers` makes the writers of an engine queue instead: before a transaction's first
write (``INSERT``, ``UPDATE``, ``DELETE``, ``REPLACE``), the thread takes the process's lock of
that engine, then an exclusive ``flock`` on ``<database>-writer.lock`` (the processes' queue),
and gives both back when the transaction commits, rolls back or its connection is dropped. The
``flock`` is tried without blocking and retried after 20 us, doubling to 0.5 ms; after the busy
timeout the write goes ahead without it, and SQLite's own lock decides as before. A process that
dies releases its ``flock``. Writers without this queue (another program, an older timestep)
still meet SQLite's lock: the queue only shortens waits, SQLite's lock keeps the file consistent.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from typing import IO, Any

from sqlalchemy import Engine, event

logger = logging.getLogger("timestep")

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_FIRST_WAIT, _LONGEST_WAIT = 20e-6, 5e-4


class WriterQueue:
    """The write lock of one SQLite file, for this process's threads and for other processes."""

    def __init__(self, lock_path: str, timeout: float) -> None:
        self.lock_path = lock_path
        self.timeout = timeout
        self._threads = threading.RLock()
        self._depth = threading.local()
        self._file: IO[bytes] | None = None
        self._pid = 0
        self._flocked = False

    def _lock_file(self) -> IO[bytes] | None:
        """This process's open lock file (None when it cannot be opened)."""
        if self._pid != os.getpid():  # a forked child opens its own: a flock is per open file
            self._pid, self._file = os.getpid(), None
            try:
                self._file = open(self.lock_path, "ab")  # noqa: SIM115 - held for the process
            except OSError as error:
                logger.warning("SQLite writers queue in this process only: %s", error)
        return self._file

    def acquire(self) -> None:
        """Take the write lock (re-entrant within a thread)."""
        self._threads.acquire()
        depth = getattr(self._depth, "n", 0)
        self._depth.n = depth + 1
        if depth == 0:
            self._flocked = self._flock()

    def release(self) -> None:
        """Give back one :meth:`acquire`."""
        self._depth.n -= 1
        if self._depth.n == 0 and self._flocked:
            self._flocked = False
            file = self._lock_file()
            if file is not None:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)
        self._threads.release()

    def _flock(self) -> bool:
        file = self._lock_file()
        if file is None:
            return False
        deadline = time.monotonic() + self.timeout
        wait = _FIRST_WAIT
        while True:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False  # SQLite's own lock and busy timeout decide
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)


def queue_writers(engine: Engine, database_path: str, timeout: float) -> WriterQueue:
    """Make ``engine``'s write transactions queue for ``database_path``'s write lock.

    ``engine`` must leave transactions to the pysqlite driver (its ``BEGIN`` comes right before
    the first write) or begin them itself in the same thread; ``timeout``: seconds a writer waits
    in the queue before it goes ahead and meets SQLite's lock.
    """
    queue = WriterQueue(f"{database_path}-writer.lock", timeout)
    held: dict[int, int] = {}  # DBAPI connection id -> the thread that took the lock for it

    def raw_id(connection: Any) -> int:
        return id(getattr(connection, "dbapi_connection", connection))

    def give_back(connection: Any) -> None:
        key = raw_id(connection)
        if held.get(key) == threading.get_ident():
            del held[key]
            queue.release()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        key = raw_id(conn.connection)
        if key not in held and statement.lstrip()[:6].upper() in _WRITES:
            queue.acquire()
            held[key] = threading.get_ident()

    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(connection: Any) -> None:
        try:
            commit(connection)
        finally:
            give_back(connection)

    def do_rollback(connection: Any) -> None:
        try:
            rollback(connection)
        finally:
            give_back(connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]

    @event.listens_for(engine, "invalidate")
    def _dropped(dbapi_connection: Any, _record: Any, _error: Any) -> None:
        give_back(dbapi_connection)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, _record: Any) -> None:
        give_back(dbapi_connection)

    return queue
