"""Turn Ollama chat replies into the SDK's Responses-API output items and stream events.

A reply becomes, in order: a reasoning item (Ollama's ``thinking``), an assistant message (its
``content``, with ``annotations=[]``) and one function call per tool call, each with a fresh call
id. Item ids are the SDK's placeholder for providers without item ids (``FAKE_RESPONSES_ID``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal, cast

from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.usage import Usage
from ollama import ChatResponse, Message
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Content as ReasoningText
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

__all__ = ["StreamTranslator", "output_items", "usage_of"]

_Status = Literal["in_progress", "completed", "incomplete"]


def new_call_id() -> str:
    """A fresh tool call id (Ollama does not assign one)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def usage_of(reply: ChatResponse) -> Usage:
    """One request's usage from Ollama's ``prompt_eval_count`` / ``eval_count``."""
    input_tokens = reply.prompt_eval_count or 0
    output_tokens = reply.eval_count or 0
    return Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def _status(done_reason: str | None) -> _Status:
    return "incomplete" if done_reason == "length" else "completed"


def _reasoning(text: str, status: _Status = "completed") -> ResponseReasoningItem:
    content = [ReasoningText(text=text, type="reasoning_text")]
    return ResponseReasoningItem(
        id=FAKE_RESPONSES_ID, type="reasoning", summary=[], content=content, status=status
    )


def _text(text: str) -> ResponseOutputText:
    return ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])


def _message(text: str | None, status: _Status = "completed") -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=FAKE_RESPONSES_ID,
        type="message",
        role="assistant",
        status=status,
        content=[] if text is None else [_text(text)],
    )


def _function_calls(message: Message) -> list[ResponseFunctionToolCall]:
    return [
        ResponseFunctionToolCall(
            id=FAKE_RESPONSES_ID,
            type="function_call",
            call_id=new_call_id(),
            name=call.function.name,
            arguments=json.dumps(dict(call.function.arguments)),
            status="completed",
        )
        for call in message.tool_calls or []
    ]


def output_items(reply: ChatResponse) -> list[TResponseOutputItem]:
    """The output items of a complete (non-streamed) reply."""
    message = reply.message
    status = _status(reply.done_reason)
    items: list[TResponseOutputItem] = []
    if message.thinking:
        items.append(_reasoning(message.thinking))
    if message.content:
        items.append(_message(message.content, status))
    items.extend(_function_calls(message))
    return items


def _response(
    model: str, output: Sequence[TResponseOutputItem], status: _Status, usage: Usage | None
) -> Response:
    response_usage = None
    if usage is not None:
        response_usage = ResponseUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        )
    return Response(
        id=FAKE_RESPONSES_ID,
        object="response",
        created_at=time.time(),
        model=model,
        output=list(output),
        status=status,
        tool_choice="auto",
        tools=[],
        top_p=None,
        parallel_tool_calls=True,
        usage=response_usage,
    )


class StreamTranslator:
    """Translates Ollama stream chunks, one at a time, into Responses stream events.

    Text and thinking deltas become ``output_text.delta`` / ``reasoning_text.delta`` events as
    they arrive; each tool call becomes a complete function-call item when its chunk arrives
    (closing any open text item first); the final chunk closes everything and yields
    ``response.completed`` with the full output and usage.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.output: list[TResponseOutputItem] = []
        self.usage: Usage | None = None
        self._sequence = 0
        self._open_kind: Literal["reasoning", "message"] | None = None
        self._open_text: list[str] = []

    def _next(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def start(self) -> list[TResponseStreamEvent]:
        """``response.created`` and ``response.in_progress``."""
        response = _response(self.model, [], "in_progress", None)
        return [
            ResponseCreatedEvent(
                type="response.created", response=response, sequence_number=self._next()
            ),
            ResponseInProgressEvent(
                type="response.in_progress", response=response, sequence_number=self._next()
            ),
        ]

    def chunk(self, part: ChatResponse) -> list[TResponseStreamEvent]:
        """Events for one streamed chunk (the last one has ``done`` set)."""
        events: list[TResponseStreamEvent] = []
        message = part.message
        if message.thinking:
            events += self._delta("reasoning", message.thinking)
        if message.content:
            events += self._delta("message", message.content)
        for call in _function_calls(message):
            events += self._close()
            events += self._function_call(call)
        if part.done:
            events += self._close(_status(part.done_reason))
            self.usage = usage_of(part)
        return events

    def finish(self) -> list[TResponseStreamEvent]:
        """Close what is still open and emit ``response.completed``."""
        events = self._close()
        response = _response(self.model, self.output, "completed", self.usage or Usage())
        events.append(
            ResponseCompletedEvent(
                type="response.completed", response=response, sequence_number=self._next()
            )
        )
        return events

    @property
    def _index(self) -> int:
        return len(self.output)

    def _delta(
        self, kind: Literal["reasoning", "message"], delta: str
    ) -> list[TResponseStreamEvent]:
        events: list[TResponseStreamEvent] = []
        if self._open_kind != kind:
            events += self._close()
            events += self._open(kind)
        self._open_text.append(delta)
        if kind == "reasoning":
            events.append(
                ResponseReasoningTextDeltaEvent(
                    type="response.reasoning_text.delta",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=self._index,
                    content_index=0,
                    delta=delta,
                    sequence_number=self._next(),
                )
            )
        else:
            events.append(
                ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=self._index,
                    content_index=0,
                    delta=delta,
                    logprobs=[],
                    sequence_number=self._next(),
                )
            )
        return events

    def _open(self, kind: Literal["reasoning", "message"]) -> list[TResponseStreamEvent]:
        self._open_kind = kind
        self._open_text = []
        item = (
            _reasoning("", "in_progress").model_copy(update={"content": []})
            if kind == "reasoning"
            else _message(None, "in_progress")
        )
        events: list[TResponseStreamEvent] = [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=item,
                output_index=self._index,
                sequence_number=self._next(),
            )
        ]
        if kind == "message":
            events.append(
                ResponseContentPartAddedEvent(
                    type="response.content_part.added",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=self._index,
                    content_index=0,
                    part=_text(""),
                    sequence_number=self._next(),
                )
            )
        return events

    def _close(self, status: _Status = "completed") -> list[TResponseStreamEvent]:
        kind, text = self._open_kind, "".join(self._open_text)
        if kind is None:
            return []
        self._open_kind, self._open_text = None, []
        index = self._index
        events: list[TResponseStreamEvent] = []
        item: TResponseOutputItem
        if kind == "reasoning":
            item = _reasoning(text)
            events.append(
                ResponseReasoningTextDoneEvent(
                    type="response.reasoning_text.done",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    text=text,
                    sequence_number=self._next(),
                )
            )
        else:
            item = _message(text, status)
            events += [
                ResponseTextDoneEvent(
                    type="response.output_text.done",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                    sequence_number=self._next(),
                ),
                ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    part=_text(text),
                    sequence_number=self._next(),
                ),
            ]
        events.append(self._item_done(item))
        return events

    def _item_done(self, item: TResponseOutputItem) -> TResponseStreamEvent:
        event = ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            item=item,
            output_index=self._index,
            sequence_number=self._next(),
        )
        self.output.append(item)
        return event

    def _function_call(self, call: ResponseFunctionToolCall) -> list[TResponseStreamEvent]:
        index = self._index
        added: dict[str, Any] = {"arguments": "", "status": "in_progress"}
        done_fields: dict[str, Any] = {
            "type": "response.function_call_arguments.done",
            "item_id": FAKE_RESPONSES_ID,
            "output_index": index,
            "arguments": call.arguments,
            "name": call.name,
        }
        events: list[TResponseStreamEvent] = [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=call.model_copy(update=added),
                output_index=index,
                sequence_number=self._next(),
            ),
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=FAKE_RESPONSES_ID,
                output_index=index,
                delta=call.arguments,
                sequence_number=self._next(),
            ),
        ]
        done_fields["sequence_number"] = self._next()
        events.append(
            cast(
                TResponseStreamEvent,
                ResponseFunctionCallArgumentsDoneEvent.model_validate(done_fields),
            )
        )
        events.append(self._item_done(call))
        return events
