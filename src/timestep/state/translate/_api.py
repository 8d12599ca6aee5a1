"""Dispatch on ``$schemaVersion`` to the translation module of each supported version pair."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ..._errors import CorruptStateError, UnsupportedSchemaVersionError
from . import py121_js122

Language = Literal["python", "typescript"]
_Translator = Callable[[Mapping[str, Any]], dict[str, Any]]

#: Python schema -> translator to the JS schema the tested JS SDK writes.
_PY_TO_JS: dict[str, _Translator] = {py121_js122.PYTHON_SCHEMA: py121_js122.python_to_js}
#: JS schema -> translator to the Python schema the tested Python SDK writes.
_JS_TO_PY: dict[str, _Translator] = {py121_js122.JS_SCHEMA: py121_js122.js_to_python}

SUPPORTED_PYTHON_SCHEMAS: tuple[str, ...] = tuple(_PY_TO_JS)
SUPPORTED_JS_SCHEMAS: tuple[str, ...] = tuple(_JS_TO_PY)

# Keys only one SDK writes (the other spells them differently).
_PY_MARKERS = ("current_turn", "current_agent", "model_responses", "generated_items")
_JS_MARKERS = ("currentTurn", "currentAgent", "modelResponses", "generatedItems")


def detect_language(state_json: Mapping[str, Any]) -> Language:
    """Which SDK wrote a RunState JSON document: ``"python"`` (snake_case) or ``"typescript"``."""
    if not isinstance(state_json, Mapping) or "$schemaVersion" not in state_json:
        raise CorruptStateError("not a RunState document: no '$schemaVersion' field")
    python = sum(key in state_json for key in _PY_MARKERS)
    typescript = sum(key in state_json for key in _JS_MARKERS)
    if python and not typescript:
        return "python"
    if typescript and not python:
        return "typescript"
    raise CorruptStateError(
        "cannot tell which SDK wrote this RunState (it has "
        f"{python} Python-style and {typescript} TypeScript-style top-level fields)"
    )


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
