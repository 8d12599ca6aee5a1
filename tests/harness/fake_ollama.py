"""A fake Ollama server on 127.0.0.1, speaking Ollama's native API over real HTTP.

Endpoints: ``POST /api/chat`` (one JSON object, or NDJSON chunks when ``"stream"`` is true or
absent, as in Ollama), ``GET /api/tags``, ``POST /api/show`` and ``GET /api/version``. Each chat
request pops the next scripted reply::

    with FakeOllama(models=["qwen2.5"]) as fake:
        fake.add_tool_call("get_weather", {"city": "Paris"})
        fake.add_text("It is sunny.")
        ...
        assert fake.chat_bodies()[1]["messages"][-1]["role"] == "tool"

A streamed reply sends thinking deltas, then text deltas (word-sized), then one chunk per tool call
(``tool_calls_per_chunk`` changes that), then a final ``done`` chunk with the token counters. A
model that is not in ``models`` gets Ollama's 404 ``{"error": "model \\"x\\" not found, ..."}``; an
empty queue gets HTTP 500 (unless ``default`` is set); ``api_key`` makes every request without
``Authorization: Bearer <api_key>`` fail with 401, as Ollama Cloud does.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from agents import Handoff, ModelResponse, ModelSettings, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .http_server import FakeService, LiveServer, RecordedRequest

__all__ = [
    "ErrorReply",
    "FakeOllama",
    "Reply",
    "ReplyFactory",
    "ScriptItem",
    "ToolCall",
    "call_model",
    "stream_model",
]

_CREATED_AT = "2026-11-27T04:00:00.000000Z"


@dataclass(frozen=True)
class ToolCall:
    """One function call the model makes (Ollama sends arguments as a JSON object)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A successful chat reply: thinking, text and tool calls, in any combination."""

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_eval_count: int = 11
    eval_count: int = 7
    done_reason: str = "stop"
    tool_calls_per_chunk: int = 1
    """Streaming: how many tool calls share one chunk."""
    stream_error: str | None = None
    """Streaming: send ``{"error": ...}`` after the text chunks instead of finishing."""
    chunk_delay: float = 0.0
    """Seconds to sleep between streamed chunks."""


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with Ollama's error body ``{"error": message}``."""

    status_code: int
    error: str


ReplyFactory: TypeAlias = Callable[[dict[str, Any]], "Reply | ErrorReply"]
ScriptItem: TypeAlias = "Reply | ErrorReply | ReplyFactory"


def _text_pieces(text: str) -> list[str]:
    """Split text into word-sized deltas (whitespace kept) so streams have several chunks."""
    pieces = re.findall(r"\s*\S+\s*", text) or [text]
    return pieces if "".join(pieces) == text else [text]


def _full_name(model: str) -> str:
    """Ollama's canonical name: an untagged model means the ``latest`` tag."""
    last = model.rsplit("/", 1)[-1]
    return model if ":" in last else f"{model}:latest"


def _wire_calls(calls: Sequence[ToolCall], start: int = 0) -> list[dict[str, Any]]:
    return [
        {"function": {"index": start + i, "name": c.name, "arguments": dict(c.arguments)}}
        for i, c in enumerate(calls)
    ]


class FakeOllama(FakeService):
    """Scriptable fake Ollama server (a ``LiveServer``); a context manager or start()/stop()."""

    def __init__(
        self,
        replies: Iterable[ScriptItem] = (),
        *,
        models: Sequence[str] = ("qwen2.5",),
        default: ScriptItem | None = None,
        api_key: str | None = None,
    ) -> None:
        self.models = [_full_name(m) for m in models]
        self.default = default
        self.api_key = api_key
        self._queue: deque[ScriptItem] = deque(replies)
        self._lock = threading.Lock()
        self.served: list[Reply | ErrorReply] = []
        """Every reply served, in order."""
        self.app = Starlette(
            routes=[
                Route("/api/chat", self._chat, methods=["POST"]),
                Route("/api/tags", self._tags, methods=["GET"]),
                Route("/api/show", self._show, methods=["POST"]),
                Route("/api/version", self._version, methods=["GET"]),
            ]
        )
        self.server = LiveServer(self.app)

    # ----------------------------------------------------------------- access
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received (all endpoints), oldest first."""
        return self.server.requests

    def chat_requests(self) -> list[RecordedRequest]:
        """The ``POST /api/chat`` requests, oldest first."""
        return [r for r in self.server.requests if r.path == "/api/chat"]

    def chat_bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the chat requests, oldest first."""
        return [r.json for r in self.chat_requests()]

    # ----------------------------------------------------------------------------- script
    def add(self, *items: ScriptItem) -> FakeOllama:
        """Queue replies (``Reply``, ``ErrorReply`` or a callable taking the request body)."""
        with self._lock:
            self._queue.extend(items)
        return self

    def add_text(self, text: str, *, thinking: str = "") -> FakeOllama:
        """Queue a text reply (with optional thinking)."""
        return self.add(Reply(text=text, thinking=thinking))

    def add_tool_call(
        self, name: str, arguments: Mapping[str, Any] | None = None, *, text: str = ""
    ) -> FakeOllama:
        """Queue a reply with one tool call (and optional text)."""
        return self.add(Reply(text=text, tool_calls=(ToolCall(name, arguments or {}),)))

    def add_tool_calls(self, *calls: ToolCall, text: str = "") -> FakeOllama:
        """Queue a reply with several tool calls (and optional text)."""
        return self.add(Reply(text=text, tool_calls=calls))

    def add_error(self, status_code: int, error: str) -> FakeOllama:
        """Queue an HTTP error reply."""
        return self.add(ErrorReply(status_code, error))

    @property
    def pending(self) -> int:
        """Number of queued replies not served yet."""
        with self._lock:
            return len(self._queue)

    def _next_reply(self, body: dict[str, Any]) -> Reply | ErrorReply:
        with self._lock:
            item = self._queue.popleft() if self._queue else self.default
        if item is None:
            reply: Reply | ErrorReply = ErrorReply(500, "FakeOllama: no scripted reply left")
        elif isinstance(item, Reply | ErrorReply):
            reply = item
        else:
            reply = item(body)
        with self._lock:
            self.served.append(reply)
        return reply

    # ---------------------------------------------------------------------------- routes
    def _unauthorized(self, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    def _missing(self, model: str) -> Response | None:
        if _full_name(model) in self.models:
            return None
        error = f'model "{model}" not found, try pulling it first'
        return JSONResponse({"error": error}, status_code=404)

    async def _chat(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "invalid JSON body"}, status_code=400)
        if not isinstance(body, dict) or not body.get("model"):
            return JSONResponse({"error": "model is required"}, status_code=400)
        model = str(body["model"])
        if (missing := self._missing(model)) is not None:
            return missing
        reply = self._next_reply(body)
        if isinstance(reply, ErrorReply):
            return JSONResponse({"error": reply.error}, status_code=reply.status_code)
        if body.get("stream", True):
            return StreamingResponse(self._chunks(model, reply), media_type="application/x-ndjson")
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.thinking:
            message["thinking"] = reply.thinking
        if reply.tool_calls:
            message["tool_calls"] = _wire_calls(reply.tool_calls)
        return JSONResponse({**self._head(model), "message": message, **self._done(reply)})

    async def _chunks(self, model: str, reply: Reply) -> AsyncIterator[bytes]:
        def line(message: dict[str, Any], **extra: Any) -> bytes:
            chunk = {**self._head(model), "message": {"role": "assistant", **message}, **extra}
            return (json.dumps(chunk) + "\n").encode()

        lines: list[bytes] = []
        for piece in _text_pieces(reply.thinking) if reply.thinking else []:
            lines.append(line({"content": "", "thinking": piece}, done=False))
        for piece in _text_pieces(reply.text) if reply.text else []:
            lines.append(line({"content": piece}, done=False))
        if reply.stream_error is None:
            size = max(1, reply.tool_calls_per_chunk)
            for start in range(0, len(reply.tool_calls), size):
                calls = _wire_calls(reply.tool_calls[start : start + size], start)
                lines.append(line({"content": "", "tool_calls": calls}, done=False))
            lines.append(line({"content": ""}, **self._done(reply)))
        else:
            lines.append((json.dumps({"error": reply.stream_error}) + "\n").encode())
        for chunk in lines:
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield chunk

    @staticmethod
    def _head(model: str) -> dict[str, Any]:
        return {"model": model, "created_at": _CREATED_AT}

    @staticmethod
    def _done(reply: Reply) -> dict[str, Any]:
        return {
            "done": True,
            "done_reason": reply.done_reason,
            "total_duration": 1_000_000,
            "load_duration": 1_000,
            "prompt_eval_count": reply.prompt_eval_count,
            "prompt_eval_duration": 1_000,
            "eval_count": reply.eval_count,
            "eval_duration": 1_000,
        }

    async def _tags(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": _CREATED_AT,
                "size": 1_000_000,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "fake", "parameter_size": "0.5B"},
            }
            for name in self.models
        ]
        return JSONResponse({"models": models})

    async def _show(self, request: Request) -> Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = json.loads(await request.body() or b"{}")
        model = str(body.get("model") or body.get("name") or "")
        if (missing := self._missing(model)) is not None:
            return missing
        return JSONResponse(
            {
                "modelfile": f"FROM {model}",
                "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": "fake", "parameter_size": "0.5B"},
                "model_info": {},
                "capabilities": ["completion", "tools", "thinking"],
                "modified_at": _CREATED_AT,
            }
        )

    async def _version(self, request: Request) -> Response:
        return JSONResponse({"version": "0.12.0"})


# --------------------------------------------------------------------------- model call helpers
async def call_model(
    model: Model,
    input: str | list[TResponseInputItem],
    *,
    system: str | None = None,
    settings: ModelSettings | None = None,
    tools: Sequence[Tool] = (),
    output_schema: AgentOutputSchemaBase | None = None,
    handoffs: Sequence[Handoff[Any, Any]] = (),
) -> ModelResponse:
    """``model.get_response`` with test defaults (no tracing)."""
    return await model.get_response(
        system,
        input,
        settings or ModelSettings(),
        list(tools),
        output_schema,
        list(handoffs),
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )


async def stream_model(
    model: Model,
    input: str | list[TResponseInputItem],
    *,
    system: str | None = None,
    settings: ModelSettings | None = None,
    tools: Sequence[Tool] = (),
    output_schema: AgentOutputSchemaBase | None = None,
    handoffs: Sequence[Handoff[Any, Any]] = (),
) -> list[TResponseStreamEvent]:
    """All events of ``model.stream_response`` with test defaults (no tracing)."""
    stream = model.stream_response(
        system,
        input,
        settings or ModelSettings(),
        list(tools),
        output_schema,
        list(handoffs),
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    return [event async for event in stream]
