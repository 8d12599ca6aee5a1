"""Build the JSON body of an Ollama ``POST /api/chat`` request from the SDK's model arguments.

Responses-API input items become Ollama messages; function tools and handoffs become Ollama
tools (their JSON schemas passed through untouched); ``ModelSettings`` become ``options`` and
top-level fields; ``Reasoning`` becomes ``think`` and a structured output type becomes ``format``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from agents import FunctionTool, Handoff, ModelSettings, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem

from .._errors import UnsupportedModelInputError

__all__ = ["build_chat_body"]

# `extra_args` keys that belong at the top level of /api/chat; every other key is an option.
_TOP_LEVEL_KEYS = frozenset({"keep_alive", "think", "format", "logprobs", "top_logprobs"})

# The `think` value for each `Reasoning.effort`. Only gpt-oss models take levels; for other
# thinking models any effort but "none" turns thinking on.
_THINK_LEVELS: dict[str, bool | str] = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}


def build_chat_body(
    model: str,
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    model_settings: ModelSettings,
    tools: Sequence[Tool],
    output_schema: AgentOutputSchemaBase | None,
    handoffs: Sequence[Handoff[Any, Any]],
    *,
    stream: bool,
) -> dict[str, Any]:
    """Return the request body for one chat call (``extra_body`` merged in last)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": to_messages(system_instructions, input),
        "stream": stream,
    }
    if model_settings.tool_choice != "none":
        ollama_tools = [tool_to_ollama(t) for t in tools]
        ollama_tools += [handoff_to_ollama(h) for h in handoffs]
        if ollama_tools:
            body["tools"] = ollama_tools
    if output_schema is not None and not output_schema.is_plain_text():
        body["format"] = output_schema.json_schema()
    think = think_value(model, model_settings)
    if think is not None:
        body["think"] = think
    if model_settings.top_logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = model_settings.top_logprobs

    options = settings_to_options(model_settings)
    for key, value in (model_settings.extra_args or {}).items():
        if key in _TOP_LEVEL_KEYS:
            body[key] = value
        else:
            options[key] = value
    if options:
        body["options"] = options
    if isinstance(model_settings.extra_body, Mapping):
        body.update(model_settings.extra_body)
    return body


def settings_to_options(settings: ModelSettings) -> dict[str, Any]:
    """Map the sampling settings Ollama understands to its ``options`` names."""
    pairs: dict[str, Any] = {
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "frequency_penalty": settings.frequency_penalty,
        "presence_penalty": settings.presence_penalty,
        "num_predict": settings.max_tokens,
    }
    return {key: value for key, value in pairs.items() if value is not None}


def think_value(model: str, settings: ModelSettings) -> bool | str | None:
    """Ollama's ``think`` for ``settings.reasoning`` (None: leave the model's default)."""
    reasoning = settings.reasoning
    if reasoning is None:
        return None
    effort = reasoning.effort
    if effort is None:
        return True
    level = _THINK_LEVELS.get(effort, True)
    if isinstance(level, str) and not _takes_think_levels(model):
        return True
    return level


def _takes_think_levels(model: str) -> bool:
    return model.rsplit("/", 1)[-1].startswith("gpt-oss")


def tool_to_ollama(tool: Tool) -> dict[str, Any]:
    """A function tool as an Ollama tool; its JSON schema is sent as is."""
    if not isinstance(tool, FunctionTool):
        raise UnsupportedModelInputError(
            f"Ollama models can only call function tools; {type(tool).__name__} "
            f"({getattr(tool, 'name', '?')!r}) is a hosted tool of the OpenAI Responses API"
        )
    return _function(tool.name, tool.description, tool.params_json_schema)


def handoff_to_ollama(handoff: Handoff[Any, Any]) -> dict[str, Any]:
    """A handoff as the function tool the model calls to transfer the conversation."""
    return _function(handoff.tool_name, handoff.tool_description, handoff.input_json_schema)


def _function(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def to_messages(
    system_instructions: str | None, input: str | list[TResponseInputItem]
) -> list[dict[str, Any]]:
    """Convert Responses-API input items to Ollama chat messages."""
    return _MessageBuilder(system_instructions).build(input)


class _MessageBuilder:
    """Walks input items in order, merging each turn's text and tool calls into one message."""

    def __init__(self, system_instructions: str | None) -> None:
        self.messages: list[dict[str, Any]] = []
        if system_instructions:
            self.messages.append({"role": "system", "content": system_instructions})
        self.tool_names: dict[str, str] = {}
        self.pending_thinking: list[str] = []

    def build(self, input: str | list[TResponseInputItem]) -> list[dict[str, Any]]:
        if isinstance(input, str):
            self.messages.append({"role": "user", "content": input})
            return self.messages
        for raw in input:
            self._add(_as_dict(raw))
        return self.messages

    def _add(self, item: dict[str, Any]) -> None:
        kind = item.get("type")
        if kind in (None, "message") and "role" in item:
            self._message(item)
        elif kind == "function_call":
            self._function_call(item)
        elif kind == "function_call_output":
            self._function_output(item)
        elif kind == "reasoning":
            self._reasoning(item)
        else:
            raise UnsupportedModelInputError(
                f"Ollama models cannot take input items of type {kind!r} "
                "(only messages, function calls, function call outputs and reasoning)"
            )

    def _message(self, item: dict[str, Any]) -> None:
        role = item["role"]
        content = item.get("content", "")
        if role in ("system", "developer"):
            text, _ = _content(content, role)
            self.messages.append({"role": "system", "content": text})
        elif role == "user":
            text, images = _content(content, role)
            message: dict[str, Any] = {"role": "user", "content": text}
            if images:
                message["images"] = images
            self.messages.append(message)
        elif role == "assistant":
            text, _ = _content(content, role)
            assistant = self._assistant(new=True)
            assistant["content"] = text
        else:
            raise UnsupportedModelInputError(f"unknown message role {role!r}")

    def _assistant(self, *, new: bool) -> dict[str, Any]:
        """The assistant message of the current turn (a new one if ``new`` or none is open)."""
        last = self.messages[-1] if self.messages else None
        if new or last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": ""}
            self.messages.append(last)
        if self.pending_thinking:
            last["thinking"] = "\n".join(self.pending_thinking)
            self.pending_thinking = []
        return last

    def _function_call(self, item: dict[str, Any]) -> None:
        name = str(item["name"])
        self.tool_names[str(item["call_id"])] = name
        assistant = self._assistant(new=False)
        call = {"function": {"name": name, "arguments": _arguments(item.get("arguments"))}}
        assistant.setdefault("tool_calls", []).append(call)

    def _function_output(self, item: dict[str, Any]) -> None:
        call_id = str(item["call_id"])
        output = item.get("output", "")
        text, images = _content(output, "tool") if not isinstance(output, str) else (output, [])
        message: dict[str, Any] = {"role": "tool", "content": text}
        if call_id in self.tool_names:
            message["tool_name"] = self.tool_names[call_id]
        if images:
            message["images"] = images
        self.messages.append(message)

    def _reasoning(self, item: dict[str, Any]) -> None:
        parts = item.get("content") or item.get("summary") or []
        texts = [str(p["text"]) for p in (_as_dict(p) for p in parts) if p.get("text")]
        self.pending_thinking.extend(texts)


def _as_dict(item: object) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return cast(dict[str, Any], dump(exclude_unset=True))
    raise UnsupportedModelInputError(f"cannot read input item {item!r}")


def _arguments(raw: object) -> dict[str, Any]:
    """Ollama wants tool call arguments as an object, the SDK keeps them as JSON text."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw:
        return {}
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        return {"arguments": raw}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _content(content: object, role: str) -> tuple[str, list[str]]:
    """Text (parts joined by newlines) and base64 images of a message's content."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[str] = []
    for part in (_as_dict(p) for p in cast(Sequence[object], content or [])):
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        elif kind == "input_image":
            images.append(_image_base64(part))
        else:
            raise UnsupportedModelInputError(
                f"Ollama models cannot take {kind!r} content in a {role} message "
                "(only text and images)"
            )
    return "\n".join(texts), images


def _image_base64(part: dict[str, Any]) -> str:
    url = part.get("image_url")
    if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
        return url.split(";base64,", 1)[1]
    where = f"image_url {url[:60]!r}" if isinstance(url, str) else "a file_id"
    raise UnsupportedModelInputError(
        f"Ollama needs images inline: pass a base64 data URL "
        f"('data:image/png;base64,...') instead of {where}"
    )
