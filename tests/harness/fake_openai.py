"""A fake OpenAI-compatible server on 127.0.0.1, speaking the real wire protocol.

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/responses`` (JSON, or SSE when the request
says ``"stream": true``) and ``GET /v1/models``. Each model request pops the next scripted reply
from one queue, whichever endpoint asked, and renders it in that endpoint's format::

    with FakeOpenAI() as fake:
        fake.add_tool_call("get_weather", {"city": "Paris"})
        fake.add_text("It is sunny.")
        client = fake.client()          # AsyncOpenAI(base_url=fake.base_url, max_retries=0)
        ...
        assert fake.request_bodies()[1]["input"][-1]["type"] == "function_call_output"

When the queue is empty the server answers HTTP 500 with an OpenAI error body naming the problem
(unless ``default`` is set). A reply may also be a callable that gets the request body and the
endpoint (``"chat"`` or ``"responses"``) and returns a reply.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from openai import AsyncOpenAI, OpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .http_server import FakeService, LiveServer, RecordedRequest

__all__ = [
    "Endpoint",
    "ErrorReply",
    "FakeOpenAI",
    "Reply",
    "ReplyFactory",
    "ScriptItem",
    "ToolCall",
    "Usage",
]

Endpoint: TypeAlias = Literal["chat", "responses"]


@dataclass(frozen=True)
class ToolCall:
    """One function call the model makes; ``arguments`` as a JSON string or a mapping."""

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text sent on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Usage:
    """Token counts reported for a reply."""

    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Reply:
    """A successful model reply: text, tool calls, or both (text first)."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    chunk_delay: float = 0.0
    """Seconds to sleep between streamed events (to observe a run mid-stream)."""
    truncate_after: int | None = None
    """Streaming only: end the stream after this many SSE events, before its terminal events."""


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with OpenAI's error body ``{"error": {message, type, param, code}}``."""

    status_code: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


ReplyFactory: TypeAlias = Callable[[dict[str, Any], Endpoint], "Reply | ErrorReply"]
ScriptItem: TypeAlias = "Reply | ErrorReply | ReplyFactory"


def _text_pieces(text: str) -> list[str]:
    """Split text into word-sized deltas (whitespace kept) so streams have several chunks."""
    pieces = re.findall(r"\s*\S+\s*", text) or [text]
    return pieces if "".join(pieces) == text else [text]


def _arg_pieces(arguments: str, size: int = 8) -> list[str]:
    """Split JSON argument text into fixed-size deltas."""
    if not arguments:
        return [""]
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _sse(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class FakeOpenAI(FakeService):
    """Scriptable fake OpenAI server on a ``LiveServer``; a context manager, or start()/stop()."""

    def __init__(
        self,
        replies: Iterable[ScriptItem] = (),
        *,
        models: Sequence[str] = ("gpt-fake",),
        default: ScriptItem | None = None,
        interleave_tool_calls: bool = True,
    ) -> None:
        self.models = list(models)
        self.default = default
        self.interleave_tool_calls = interleave_tool_calls
        self._queue: deque[ScriptItem] = deque(replies)
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self.served: list[tuple[Endpoint, Reply | ErrorReply]] = []
        """Every reply served, in order, with the endpoint that asked for it."""
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/models/{model:path}", self._model, methods=["GET"]),
            ]
        )
        self.server = LiveServer(self.app)

    # ----------------------------------------------------------------- access
    @property
    def base_url(self) -> str:
        """The OpenAI client's ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return self.server.url + "/v1"

    def client(self, **kwargs: Any) -> AsyncOpenAI:
        """An ``AsyncOpenAI`` client for this server (``max_retries=0`` unless given)."""
        kwargs.setdefault("api_key", "test")
        kwargs.setdefault("max_retries", 0)
        return AsyncOpenAI(base_url=self.base_url, **kwargs)

    def sync_client(self, **kwargs: Any) -> OpenAI:
        """A synchronous ``OpenAI`` client for this server (``max_retries=0`` unless given)."""
        kwargs.setdefault("api_key", "test")
        kwargs.setdefault("max_retries", 0)
        return OpenAI(base_url=self.base_url, **kwargs)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received (all endpoints), oldest first."""
        return self.server.requests

    def model_requests(self) -> list[RecordedRequest]:
        """Requests to the chat completions and responses endpoints, oldest first."""
        paths = {"/v1/chat/completions", "/v1/responses"}
        return [r for r in self.server.requests if r.path in paths]

    def request_bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the model requests, oldest first."""
        return [r.json for r in self.model_requests()]

    # ----------------------------------------------------------------------------- script
    def add(self, *items: ScriptItem) -> FakeOpenAI:
        """Queue replies (``Reply``, ``ErrorReply`` or a callable)."""
        with self._lock:
            self._queue.extend(items)
        return self

    def add_text(self, text: str, *, usage: Usage | None = None) -> FakeOpenAI:
        """Queue a plain text reply."""
        return self.add(Reply(text=text, usage=usage or Usage()))

    def add_tool_call(
        self,
        name: str,
        arguments: str | Mapping[str, Any] = "{}",
        *,
        call_id: str | None = None,
        text: str | None = None,
    ) -> FakeOpenAI:
        """Queue a reply with one function call (and optional text before it)."""
        return self.add(Reply(text=text, tool_calls=(ToolCall(name, arguments, call_id),)))

    def add_tool_calls(self, *calls: ToolCall, text: str | None = None) -> FakeOpenAI:
        """Queue a reply with several function calls (and optional text before them)."""
        return self.add(Reply(text=text, tool_calls=tuple(calls)))

    def add_error(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> FakeOpenAI:
        """Queue an HTTP error reply with an OpenAI error body."""
        return self.add(ErrorReply(status_code, message, type, code, param))

    @property
    def pending(self) -> int:
        """Number of queued replies not served yet."""
        with self._lock:
            return len(self._queue)

    def _next_reply(self, body: dict[str, Any], endpoint: Endpoint) -> Reply | ErrorReply:
        with self._lock:
            item = self._queue.popleft() if self._queue else self.default
        if item is None:
            reply: Reply | ErrorReply = ErrorReply(
                500, "FakeOpenAI: no scripted reply left for this request", "server_error"
            )
        elif isinstance(item, Reply | ErrorReply):
            reply = item
        else:
            reply = item(body, endpoint)
        with self._lock:
            self.served.append((endpoint, reply))
        return reply

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            n = self._ids.get(prefix, 0) + 1
            self._ids[prefix] = n
        return f"{prefix}{n}"

    def _call_ids(self, reply: Reply) -> list[str]:
        return [c.call_id or self._new_id("call_fake_") for c in reply.tool_calls]

    # ---------------------------------------------------------------------------- routes
    async def _models(self, request: Request) -> Response:
        data = [_model_obj(m) for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _model(self, request: Request) -> Response:
        model = request.path_params["model"]
        if model not in self.models:
            err = ErrorReply(404, f"The model '{model}' does not exist", code="model_not_found")
            return JSONResponse(err.body(), status_code=404)
        return JSONResponse(_model_obj(model))

    async def _chat(self, request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        reply = self._next_reply(body, "chat")
        if isinstance(reply, ErrorReply):
            return JSONResponse(reply.body(), status_code=reply.status_code)
        model = str(body.get("model", "gpt-fake"))
        completion_id = self._new_id("chatcmpl-fake-")
        call_ids = self._call_ids(reply)
        if body.get("stream"):
            stream_options = body.get("stream_options") or {}
            include_usage = bool(stream_options.get("include_usage"))
            chunks = self._chat_chunks(reply, model, completion_id, call_ids, include_usage)
            return _sse_response(chunks, reply)
        return JSONResponse(_chat_completion(reply, model, completion_id, call_ids))

    async def _responses(self, request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        reply = self._next_reply(body, "responses")
        if isinstance(reply, ErrorReply):
            return JSONResponse(reply.body(), status_code=reply.status_code)
        model = str(body.get("model", "gpt-fake"))
        items = self._response_items(reply)
        response_id = self._new_id("resp_fake_")
        final = _response_obj(response_id, model, body, items, reply.usage, "completed")
        if body.get("stream"):
            events = _response_events(response_id, model, body, items, reply.usage)
            return _sse_response(events, reply)
        return JSONResponse(final)

    # ------------------------------------------------------------------ chat completions
    def _chat_chunks(
        self,
        reply: Reply,
        model: str,
        completion_id: str,
        call_ids: list[str],
        include_usage: bool,
    ) -> Iterator[bytes]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            obj: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                obj["usage"] = None
            return _sse(obj)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        if reply.text:
            for piece in _text_pieces(reply.text):
                yield chunk({"content": piece})
        # Each call opens with id + name, then its arguments arrive in pieces; with
        # interleave_tool_calls the pieces of different calls alternate (index 0, 1, 0, 1, ...).
        pieces = [_arg_pieces(c.arguments_json) for c in reply.tool_calls]
        opened: set[int] = set()
        schedule: list[tuple[int, str]] = []
        if self.interleave_tool_calls:
            for step in range(max((len(p) for p in pieces), default=0)):
                schedule.extend((i, p[step]) for i, p in enumerate(pieces) if step < len(p))
        else:
            schedule = [(i, piece) for i, p in enumerate(pieces) for piece in p]
        for index, piece in schedule:
            call: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
            if index not in opened:
                opened.add(index)
                call["id"] = call_ids[index]
                call["type"] = "function"
                call["function"] = {"name": reply.tool_calls[index].name, "arguments": piece}
            yield chunk({"tool_calls": [call]})
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
        if include_usage:
            yield _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [],
                    "usage": _chat_usage(reply.usage),
                }
            )
        yield _sse("[DONE]")

    # --------------------------------------------------------------------- responses API
    def _response_items(self, reply: Reply) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if reply.text is not None:
            items.append(
                {
                    "id": self._new_id("msg_fake_"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {
                            "type": "output_text",
                            "text": reply.text,
                            "annotations": [],
                            "logprobs": [],
                        }
                    ],
                }
            )
        for call, call_id in zip(reply.tool_calls, self._call_ids(reply), strict=True):
            items.append(
                {
                    "id": self._new_id("fc_fake_"),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": call.name,
                    "arguments": call.arguments_json,
                }
            )
        return items


async def _json_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        err = ErrorReply(400, f"We could not parse the JSON body of your request: {exc}")
        return JSONResponse(err.body(), status_code=400)
    if not isinstance(body, dict):
        err = ErrorReply(400, "The request body must be a JSON object")
        return JSONResponse(err.body(), status_code=400)
    return body


def _sse_response(chunks: Iterable[bytes], reply: Reply) -> StreamingResponse:
    async def gen() -> AsyncIterator[bytes]:
        for i, data in enumerate(chunks):
            if reply.truncate_after is not None and i >= reply.truncate_after:
                return
            if reply.chunk_delay and i:
                await asyncio.sleep(reply.chunk_delay)
            yield data

    return StreamingResponse(
        gen(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


def _model_obj(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1700000000, "owned_by": "fake-openai"}


def _chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _chat_completion(
    reply: Reply, model: str, completion_id: str, call_ids: list[str]
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call, call_id in zip(reply.tool_calls, call_ids, strict=True)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _chat_usage(reply.usage),
    }


def _response_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _response_obj(
    response_id: str,
    model: str,
    request: Mapping[str, Any],
    output: list[dict[str, Any]],
    usage: Usage | None,
    status: str,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "usage": _response_usage(usage) if usage is not None else None,
        "user": None,
        "metadata": request.get("metadata") or {},
    }


def _response_events(
    response_id: str,
    model: str,
    request: Mapping[str, Any],
    items: list[dict[str, Any]],
    usage: Usage,
) -> Iterator[bytes]:
    seq = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal seq
        data = {"type": kind, "sequence_number": seq, **fields}
        seq += 1
        return _sse(data, event=kind)

    pending = _response_obj(response_id, model, request, [], None, "in_progress")
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(items):
        item_id = item["id"]
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event(
                "response.content_part.added",
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=empty_part,
            )
            for piece in _text_pieces(text) if text else []:
                yield event(
                    "response.output_text.delta",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            yield event(
                "response.output_text.done",
                item_id=item_id,
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            yield event(
                "response.content_part.done",
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=item["content"][0],
            )
        else:
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in _arg_pieces(item["arguments"]):
                yield event(
                    "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=index,
                    delta=piece,
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        yield event("response.output_item.done", output_index=index, item=item)
    final = _response_obj(response_id, model, request, items, usage, "completed")
    yield event("response.completed", response=final)
