"""A faster, output-identical ``RunResult.to_state`` when no nested agent-tool history is owned.

``RunResult.to_state`` rebases the run's nested-history ownership refs onto its session items
(``agents.run_internal.items.rebase_nested_history_owned_item_refs``). The SDK digests every
session item (an input-item conversion and a JSON dump each) before it looks at the refs, which
was over half of a ``to_state`` call in timestep's durable segments, yet with no refs to rebase
the answer is always an empty list. :func:`install` wraps the function with that case and leaves
every other call to the SDK's own code. Checked against the SDK's own function by
``tests/state/test_state_json.py``; if the pinned SDK no longer has it, nothing is patched.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._sdk_patch import swap_in

_MODULE = "agents.run_internal.items"
_NAME = "rebase_nested_history_owned_item_refs"
#: Modules that imported the function by name (they hold their own reference).
_IMPORTERS = ("agents.result",)
#: The SDK's own function, once :func:`install` wrapped it (tests compare against it).
ORIGINALS: dict[str, Callable[..., Any]] = {}


def install() -> bool:
    """Wrap the SDK's rebase with the no-refs path (once); whether it is on."""
    if ORIGINALS:
        return True
    try:
        original = getattr(importlib.import_module(_MODULE), _NAME)
    except (ImportError, AttributeError):
        return False

    def rebase_nested_history_owned_item_refs(
        input: Any, run_items: Any, owned_item_refs: Any
    ) -> list[Any]:
        if not owned_item_refs:
            return []
        result: list[Any] = original(input, run_items, owned_item_refs)
        return result

    ORIGINALS[_NAME] = original
    swap_in((_MODULE, *_IMPORTERS), {_NAME: rebase_nested_history_owned_item_refs}, ORIGINALS)
    return True
