"""Rebuilding the text a streamed run's model calls wrote, from its durable events.

Readers of ``attach_stream`` (the CLI, the inbox, your UI) feed every event to one
:class:`StreamText`. A model step may have several attempts when a process died while the model
was streaming; only the step's latest attempt counts, and an ``attempt_abandoned`` event takes the
abandoned attempt's text back. The algorithm is the contract in ``docs/dev/contracts.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

_TEXT_DELTA = "response.output_text.delta"


@dataclass(frozen=True)
class TextChange:
    """What one event did to the rebuilt text.

    ``append``: ``text`` was added at the end. ``retract``: the abandoned attempt ``attempt`` of
    model step ``step`` wrote ``text``, which is no longer part of the output (a terminal that
    cannot take it back prints a notice; a UI removes it or shows it struck through); the retry's
    text follows as new ``append`` changes.
    """

    kind: Literal["append", "retract"]
    text: str
    segment: str
    step: int
    attempt: int


@dataclass
class _Step:
    attempt: int
    text: str = ""
    dropped: set[int] = field(default_factory=set)


class StreamText:
    """The text of a streamed run rebuilt from its durable events, one event at a time."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], _Step] = {}
        self.abandoned: list[tuple[str, int, int]] = []
        """``(segment, step, attempt)`` of every attempt that was taken back, in log order."""

    @property
    def text(self) -> str:
        """The text so far: every model step's latest attempt, in the order the steps started."""
        return "".join(step.text for step in self._steps.values())

    def _drop(self, segment: str, index: int, step: _Step, attempt: int) -> TextChange | None:
        step.dropped.add(attempt)
        self.abandoned.append((segment, index, attempt))
        if step.attempt != attempt:
            return None
        taken, step.text = step.text, ""
        return TextChange("retract", taken, segment, index, attempt)

    def add(self, event: Mapping[str, Any]) -> TextChange | None:
        """Apply one event of the log; return how the text changed (None: it did not)."""
        kind = event.get("type")
        if kind not in ("attempt_started", "attempt_abandoned", "model_event"):
            return None
        segment, index = str(event.get("segment", "")), int(event.get("step", 0))
        attempt = int(event.get("attempt", 1))  # logs written before attempts existed: one
        step = self._steps.get((segment, index))
        if step is None:
            step = self._steps[(segment, index)] = _Step(attempt)
        if kind == "attempt_abandoned":
            if attempt in step.dropped:
                return None
            return self._drop(segment, index, step, attempt)
        if attempt in step.dropped or attempt < step.attempt:
            return None  # a late event of an attempt that was already replaced
        change: TextChange | None = None
        if attempt > step.attempt:
            if step.attempt not in step.dropped:  # a retry without its abandon event: the same
                change = self._drop(segment, index, step, step.attempt)
            step.attempt, step.text = attempt, ""
        if kind == "model_event":
            inner = event.get("event") or {}
            if inner.get("type") == _TEXT_DELTA and inner.get("delta"):
                delta = str(inner["delta"])
                step.text += delta
                return TextChange("append", delta, segment, index, attempt)
        return change


def stream_text(events: Iterable[Mapping[str, Any]]) -> str:
    """The text a streamed run's model calls wrote, from its events (see :class:`StreamText`).

    Abandoned attempts contribute nothing: for a run whose only text is its final answer, the
    result equals ``final_output`` once the run is done, however often its model calls were
    retried after a crash.
    """
    rebuilt = StreamText()
    for event in events:
        rebuilt.add(event)
    return rebuilt.text
