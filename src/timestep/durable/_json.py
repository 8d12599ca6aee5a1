"""JSON serializer for DBOS: step outputs, workflow inputs and errors are stored as JSON text.

Pickle would tie recorded runs to Python class layouts and make the system database unreadable
from other languages; JSON keeps every checkpoint inspectable. Values must be JSON-compatible
(tuples become lists). Exceptions are stored as ``{"$error": {module, type, message, args}}`` and
rebuilt as the same class when it can be imported and constructed from its JSON arguments,
otherwise as :class:`timestep.DurableStepError` carrying the original type name.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from dbos import Serializer

from .._errors import DurableStepError

_ERROR_KEY = "$error"


#: Types whose values are their own JSON form (checked by identity first: the common case).
_SCALARS = frozenset({str, int, float, bool, type(None)})
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _plain(value: Any) -> Any:
    """Make ``value`` JSON-compatible, or raise TypeError naming what is not."""
    if type(value) in _SCALARS or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            out[key] = item if type(item) in _SCALARS else _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _SCALARS else _plain(item) for item in value]
    if isinstance(value, BaseException):
        return {_ERROR_KEY: _error_payload(value)}
    raise TypeError(f"{type(value).__name__} is not JSON-serializable for a durable checkpoint")


def _error_payload(error: BaseException) -> dict[str, Any]:
    args: list[Any] = []
    for arg in error.args:
        try:
            args.append(_plain(arg))
        except TypeError:
            args.append(str(arg))
    return {
        "module": type(error).__module__,
        "type": type(error).__qualname__,
        "message": str(error),
        "args": args,
    }


def _rebuild_error(payload: dict[str, Any]) -> BaseException:
    module, name = str(payload.get("module", "")), str(payload.get("type", ""))
    message = str(payload.get("message", ""))
    args = payload.get("args") or []
    try:
        cls: Any = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            rebuilt: BaseException = cls(*args)
            return rebuilt
    except Exception:
        pass
    return DurableStepError(f"{module}.{name}: {message}", original_type=f"{module}.{name}")


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _ERROR_KEY in value and isinstance(value[_ERROR_KEY], dict):
            return _rebuild_error(value[_ERROR_KEY])
        return {k: _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


class JSONSerializer(Serializer):
    """DBOS serializer writing compact JSON (see the module docstring)."""

    def serialize(self, data: Any) -> str:
        return _ENCODE(_plain(data))

    def deserialize(self, serialized_data: str) -> Any:
        return _revive(json.loads(serialized_data))

    def name(self) -> str:
        return "timestep_json"
