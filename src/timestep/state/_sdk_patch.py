"""Swap an SDK function for timestep's output-identical faster path, wherever it is referenced.

The SDK's modules import some functions by name, so replacing a function in its own module is
not enough: every module that holds the original under that name gets the replacement too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def swap_in(
    modules: Iterable[str],
    replacements: dict[str, Callable[..., Any]],
    originals: dict[str, Callable[..., Any]],
) -> None:
    """In each of ``modules`` (those importable), put ``replacements[name]`` where the module
    holds ``originals[name]``; a module holding anything else under that name is left alone."""
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name, function in replacements.items():
            if getattr(module, name, None) is originals[name]:
                setattr(module, name, function)
