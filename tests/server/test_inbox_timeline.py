"""Timelines built from the shared state vectors, in both SDKs' formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from timestep.runs import abbreviate, build_timeline, final_output

VECTORS = Path(__file__).parents[1] / "vectors"


def _load(scenario: str, language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / scenario / f"{language}.json").read_text())
    return data


def _shape(doc: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    return [(s.kind, s.name, s.status, s.agent_name) for s in build_timeline(doc)]


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_completed_run_has_model_tool_model_and_the_answer(language: str) -> None:
    doc = _load("completed", language)
    steps = build_timeline(doc)
    assert _shape(doc) == [
        ("model", "model", None, "support"),
        ("tool", "refund", "done", "support"),
        ("model", "model", None, "support"),
    ]
    assert steps[1].output == "refunded 42 5"
    assert json.loads(steps[1].arguments or "") == {"order_id": "42", "amount": 5}
    assert steps[0].input_tokens is not None
    assert final_output(doc) == "Refunded order 42."


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_handoff_is_a_step_and_the_next_model_call_belongs_to_the_new_agent(
    language: str,
) -> None:
    doc = _load("handoff", language)
    assert _shape(doc) == [
        ("model", "model", None, "triage"),
        ("handoff", "transfer_to_support", "done", "triage"),
        ("model", "model", None, "support"),
        ("tool", "refund", "pending_approval", "support"),
    ]
    assert final_output(doc) is None


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_several_pending_approvals_are_all_marked(language: str) -> None:
    doc = _load("multiple_approvals", language)
    pending = [s.call_id for s in build_timeline(doc) if s.status == "pending_approval"]
    assert len(pending) >= 2
    assert len(set(pending)) == len(pending)


def test_empty_or_foreign_documents_give_an_empty_timeline() -> None:
    assert build_timeline({}) == []
    assert build_timeline({"model_responses": "nonsense"}) == []
    assert final_output({}) is None


def test_abbreviate_flattens_and_cuts() -> None:
    assert abbreviate("a\n  b") == "a b"
    cut = abbreviate("x" * 200, 10)
    assert len(cut) == 10
    assert cut.endswith("…")
