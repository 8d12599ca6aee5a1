"""``state_facts`` reads status, agent and pending approvals from both SDKs' state formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timestep import CorruptStateError
from timestep.state import detect_language, state_facts
from timestep.state.translate import detect_language as translate_detect_language

VECTORS = Path(__file__).parents[1] / "vectors"


def _load(shape: str, name: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads((VECTORS / shape / name).read_text())
    return doc


@pytest.mark.parametrize("name", ["python.json", "typescript.json"])
def test_finished_states_are_done_in_both_languages(name: str) -> None:
    facts = state_facts(_load("completed", name))
    assert facts.status == "done"
    assert facts.pending_approvals == []
    assert facts.language == name.removesuffix(".json")


@pytest.mark.parametrize("name", ["python.json", "typescript.json"])
def test_pending_approvals_are_listed_in_both_languages(name: str) -> None:
    facts = state_facts(_load("multiple_approvals", name))
    assert facts.status == "waiting"
    assert len(facts.pending_approvals) >= 2
    for pending in facts.pending_approvals:
        assert pending.call_id and pending.tool_name and pending.agent_name
        assert isinstance(json.loads(pending.arguments), dict)
    assert facts.schema_version == ("1.21" if name == "python.json" else "1.22")


@pytest.mark.parametrize("doc", [[], {"$schemaVersion": 1}, {"$schemaVersion": "1.21"}])
def test_documents_that_are_not_states_are_rejected(doc: object) -> None:
    with pytest.raises(CorruptStateError):
        state_facts(doc)


def test_one_language_rule_for_facts_and_translation() -> None:
    """A document mixing both SDKs' spellings is refused by the store and translation alike."""
    mixed = _load("completed", "python.json") | {"currentAgent": {"name": "support"}}
    assert translate_detect_language is detect_language
    with pytest.raises(CorruptStateError, match="cannot tell which SDK"):
        state_facts(mixed)
    with pytest.raises(CorruptStateError, match="cannot tell which SDK"):
        detect_language(mixed)
