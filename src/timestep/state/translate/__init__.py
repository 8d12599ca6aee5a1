"""Python <-> TypeScript RunState translation (one module per SDK schema-version pair).

``to_typescript`` turns a state written by openai-agents (Python) into one @openai/agents (JS) can
load with ``RunState.fromString``; ``to_python`` does the reverse. Both are pure functions on the
JSON documents; they never guess: a schema version without a module, or a feature a module does
not cover, raises a ``TranslationError`` subclass naming it.
"""

from __future__ import annotations

from .._describe import detect_language
from .._records import Language
from ._api import (
    SUPPORTED_JS_SCHEMAS,
    SUPPORTED_PYTHON_SCHEMAS,
    items_to_python,
    items_to_typescript,
    to_language,
    to_python,
    to_typescript,
)

__all__ = [
    "SUPPORTED_JS_SCHEMAS",
    "SUPPORTED_PYTHON_SCHEMAS",
    "Language",
    "detect_language",
    "items_to_python",
    "items_to_typescript",
    "to_language",
    "to_python",
    "to_typescript",
]
