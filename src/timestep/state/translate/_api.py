"""Dispatch on ``$schemaVersion`` to the translation module of each supported version pair."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..._errors import UnsupportedSchemaVersionError
from .._describe import detect_language
from .._records import Language
from . import py121_js122

_Translator = Callable[[Mapping[str, Any]], dict[str, Any]]

#: Python schema -> translator to the JS schema the tested JS SDK writes.
_PY_TO_JS: dict[str, _Translator] = {py121_js122.PYTHON_SCHEMA: py121_js122.python_to_js}
#: JS schema -> translator to the Python schema the tested Python SDK writes.
_JS_TO_PY: dict[str, _Translator] = {py121_js122.JS_SCHEMA: py121_js122.js_to_python}

SUPPORTED_PYTHON_SCHEMAS: tuple[str, ...] = tuple(_PY_TO_JS)
SUPPORTED_JS_SCHEMAS: tuple[str, ...] = tuple(_JS_TO_PY)


def _version(state_json: Mapping[str, Any]) -> str:
    version = state_json.get("$schemaVersion")
    return version if isinstance(version, str) else repr(version)


def to_typescript(state_json: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a Python RunState JSON to the JS format; a JS state is returned unchanged."""
    if detect_language(state_json) == "typescript":
        return dict(state_json)
    translator = _PY_TO_JS.get(_version(state_json))
    if translator is None:
        raise UnsupportedSchemaVersionError(
            state_json.get("$schemaVersion"), "python", list(SUPPORTED_PYTHON_SCHEMAS)
        )
    return translator(state_json)


def to_python(state_json: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a JS RunState JSON to the Python format; a Python state is returned unchanged."""
    if detect_language(state_json) == "python":
        return dict(state_json)
    translator = _JS_TO_PY.get(_version(state_json))
    if translator is None:
        raise UnsupportedSchemaVersionError(
            state_json.get("$schemaVersion"), "typescript", list(SUPPORTED_JS_SCHEMAS)
        )
    return translator(state_json)


def items_to_typescript(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Translate conversation items (e.g. a session's history) from Python to JS format."""
    return py121_js122.python_items_to_js(items)


def items_to_python(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Translate conversation items (e.g. a session's history) from JS to Python format."""
    return py121_js122.js_items_to_python(items)


def to_language(state_json: Mapping[str, Any], language: Language) -> dict[str, Any]:
    """Translate a RunState JSON into ``language``'s format (``export --lang``)."""
    if language == "python":
        return to_python(state_json)
    if language == "typescript":
        return to_typescript(state_json)
    raise ValueError(f"unknown language {language!r}; expected 'python' or 'typescript'")
