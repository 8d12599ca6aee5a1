"""Execution counters and stable call ids, without importing the Agents SDK.

Cheap to import in child processes (crash tests): ``FileCounter`` records executions in a
JSON-lines file shared by processes, ``CallCounter`` in memory; ``default_call_id`` gives the same
call id for the same tool name and arguments in every process.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

__all__ = ["CallCounter", "Counter", "FileCounter", "ToolRun", "default_call_id"]

F = TypeVar("F", bound=Callable[..., Any])


def _args_text(arguments: str | Mapping[str, Any] | None) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(dict(arguments), sort_keys=True, separators=(",", ":"))


def default_call_id(name: str, arguments: str | Mapping[str, Any] | None = None) -> str:
    """A call id that depends only on the tool name and arguments (same in every process)."""
    digest = hashlib.sha256(f"{name}\0{_args_text(arguments)}".encode()).hexdigest()[:12]
    return f"call_{name}_{digest}"


@dataclass(frozen=True)
class ToolRun:
    """One recorded execution."""

    key: str
    arguments: Any = None
    pid: int = 0


class Counter(Protocol):
    """What both counters offer."""

    def record(self, key: str = "default", arguments: Any = None) -> None: ...
    def runs(self, key: str | None = None) -> list[ToolRun]: ...
    def count(self, key: str | None = None) -> int: ...


class _CounterMixin:
    def count(self, key: str | None = None) -> int:
        """How many executions were recorded (for ``key``, or in total)."""
        return len(self.runs(key))

    def runs(self, key: str | None = None) -> list[ToolRun]:
        raise NotImplementedError

    def record(self, key: str = "default", arguments: Any = None) -> None:
        raise NotImplementedError

    def counting(self, func: F, *, key: str | None = None) -> F:
        """Wrap a sync or async function so each call is recorded under ``key`` (its name).

        The wrapper keeps the signature, annotations and docstring, so ``function_tool`` can be
        applied to it. The call is recorded before the function body runs.
        """
        name = key or func.__name__
        signature = inspect.signature(func)

        def arguments_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            from agents import RunContextWrapper  # only where the SDK is in use anyway

            bound = signature.bind_partial(*args, **kwargs)
            return {
                k: v for k, v in bound.arguments.items() if not isinstance(v, RunContextWrapper)
            }

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                self.record(name, arguments_of(args, kwargs))
                return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.record(name, arguments_of(args, kwargs))
            return func(*args, **kwargs)

        return cast(F, wrapper)


class CallCounter(_CounterMixin):
    """Thread-safe in-memory record of executions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: list[ToolRun] = []

    def record(self, key: str = "default", arguments: Any = None) -> None:
        """Record one execution."""
        with self._lock:
            self._runs.append(ToolRun(key, arguments, os.getpid()))

    def runs(self, key: str | None = None) -> list[ToolRun]:
        """Recorded executions, oldest first (for ``key``, or all)."""
        with self._lock:
            return [r for r in self._runs if key is None or r.key == key]

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._runs.clear()


class FileCounter(_CounterMixin):
    """Record of executions in a JSON-lines file, appended atomically; shared by processes.

    Each record is one ``write`` on an ``O_APPEND`` descriptor, so records from concurrent
    processes do not interleave, and a record is in the file as soon as ``record`` returns, even if
    the process is then killed with SIGKILL. Pass the path to child processes (``str(counter)``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def record(self, key: str = "default", arguments: Any = None) -> None:
        """Append one execution record."""
        line = json.dumps({"key": key, "arguments": arguments, "pid": os.getpid()}, default=repr)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def runs(self, key: str | None = None) -> list[ToolRun]:
        """Recorded executions, oldest first (for ``key``, or all)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        out: list[ToolRun] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            data = json.loads(line)
            if key is None or data["key"] == key:
                out.append(ToolRun(data["key"], data.get("arguments"), int(data.get("pid", 0))))
        return out

    def reset(self) -> None:
        """Delete the file."""
        self.path.unlink(missing_ok=True)
