"""``OllamaModel``: the SDK's ``Model`` interface on Ollama's native ``/api/chat``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import ollama
from agents import Handoff, ModelResponse, ModelSettings, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.retry import ModelRetryAdvice, ModelRetryAdviceRequest
from agents.tracing import SpanError, generation_span
from openai.types.responses.response_prompt_param import ResponsePromptParam

from .._errors import ModelNotFoundError, ModelProviderError, ModelServerUnavailableError
from ._ollama_client import ClientPool, chat, chat_stream, provider_error
from ._ollama_output import StreamTranslator, output_items, usage_of
from ._ollama_request import build_chat_body

__all__ = ["DEFAULT_OLLAMA_HOST", "OllamaModel"]

DEFAULT_OLLAMA_HOST = "http://localhost:11434"


class OllamaModel(Model):
    """An Ollama model, called through the official ``ollama`` client's ``/api/chat``.

    Args:
        model: The Ollama model name, e.g. ``"qwen2.5"`` or ``"gpt-oss:120b"``.
        client: An ``ollama.AsyncClient`` to use instead of creating one (``host`` then only
            names the server in error messages).
        host: The server; default ``$OLLAMA_HOST``, else ``http://localhost:11434``.
        api_key: Sent as ``Authorization: Bearer ...`` (Ollama Cloud); never read from the
            environment here (``OllamaModelProvider`` does that, for cloud models only).
        timeout: Seconds per request (default: none). ``ModelSettings.timeout`` overrides it.

    ``ModelSettings`` map to Ollama as follows: ``temperature``, ``top_p``,
    ``frequency_penalty``, ``presence_penalty`` -> ``options`` of the same name; ``max_tokens``
    -> ``options.num_predict``; ``reasoning`` -> ``think`` (``effort="none"`` turns it off;
    gpt-oss models get the level ``low``/``medium``/``high``, other models ``true``);
    ``top_logprobs`` -> ``logprobs``/``top_logprobs``; ``tool_choice="none"`` sends no tools;
    ``extra_args`` -> ``options`` (e.g. ``seed``, ``stop``, ``num_ctx``, ``top_k``), except
    ``keep_alive``, ``think``, ``format``, ``logprobs`` and ``top_logprobs``, which are
    top-level fields; ``extra_body`` is merged into the request body; ``extra_headers`` and
    ``extra_query`` go on the HTTP request. Other settings have no Ollama equivalent and are
    ignored. A structured output type is sent as ``format`` (its JSON schema).
    """

    def __init__(
        self,
        model: str,
        client: ollama.AsyncClient | None = None,
        *,
        host: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        _pool: ClientPool | None = None,
        _cloud: bool = False,
    ) -> None:
        self.model = model
        self.host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST
        self.cloud = _cloud
        self._api_key = api_key
        self._client = client
        self._pool = _pool if _pool is not None else ClientPool(timeout)

    def __repr__(self) -> str:
        return f"OllamaModel({self.model!r}, host={self.host!r})"

    @property
    def client(self) -> ollama.AsyncClient:
        """The client this model talks through (shared per host and event loop)."""
        if self._client is not None:
            return self._client
        return self._pool.get(self.host, self._api_key)

    def get_retry_advice(self, request: ModelRetryAdviceRequest) -> ModelRetryAdvice | None:
        """Retry server errors (5xx, 408, 429) and an unreachable server; never a missing model.

        Used only when the run's ``ModelSettings.retry`` enables retries. A request that failed
        before Ollama answered produced nothing, so replaying it is safe.
        """
        error, cause = request.error, request.error.__cause__
        if isinstance(error, ModelNotFoundError):
            return ModelRetryAdvice(suggested=False, reason=str(error))
        if isinstance(error, ModelServerUnavailableError):
            return ModelRetryAdvice(suggested=True, replay_safety="safe", reason=str(error))
        if isinstance(cause, ollama.ResponseError) and cause.status_code > 0:
            status = cause.status_code
            retry = status >= 500 or status in (408, 429)
            return ModelRetryAdvice(suggested=retry, reason=str(error))
        return None

    def _error(self, error: BaseException) -> ModelProviderError | None:
        return provider_error(error, host=self.host, model=self.model, cloud=self.cloud)

    def _body(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        return build_chat_body(
            self.model,
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            stream=stream,
        )

    @staticmethod
    def _http(settings: ModelSettings) -> dict[str, Any]:
        headers = settings.extra_headers
        query = settings.extra_query
        return {
            "headers": {k: str(v) for k, v in headers.items()}
            if isinstance(headers, Mapping)
            else None,
            "query": dict(query) if isinstance(query, Mapping) else None,
            "timeout": settings.timeout,
        }

    def _span_config(self, settings: ModelSettings) -> dict[str, Any]:
        return {**settings.to_json_dict(), "base_url": self.host}

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        """One non-streamed ``/api/chat`` call."""
        body = self._body(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            stream=False,
        )
        with generation_span(
            model=self.model,
            model_config=self._span_config(model_settings),
            disabled=tracing.is_disabled(),
        ) as span:
            if tracing.include_data():
                span.span_data.input = body["messages"]
            try:
                reply = await chat(self.client, body, **self._http(model_settings))
            except Exception as error:
                typed = self._error(error)
                span.set_error(SpanError(message=str(typed or error), data=None))
                if typed is None:
                    raise
                raise typed from error
            output = output_items(reply)
            usage = usage_of(reply)
            span.span_data.usage = {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            }
            if tracing.include_data():
                span.span_data.output = [item.model_dump() for item in output]
        return ModelResponse(output=output, usage=usage, response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """A streamed ``/api/chat`` call, as Responses-API stream events."""
        body = self._body(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            stream=True,
        )
        translator = StreamTranslator(self.model)
        with generation_span(
            model=self.model,
            model_config=self._span_config(model_settings),
            disabled=tracing.is_disabled(),
        ) as span:
            if tracing.include_data():
                span.span_data.input = body["messages"]
            parts = chat_stream(self.client, body, **self._http(model_settings))
            started = False
            try:
                while True:
                    try:
                        part = await anext(parts)
                    except StopAsyncIteration:
                        break
                    except Exception as error:
                        typed = self._error(error)
                        span.set_error(SpanError(message=str(typed or error), data=None))
                        if typed is None:
                            raise
                        raise typed from error
                    if not started:
                        # Nothing is emitted before Ollama answers, so a failed request can be
                        # retried without the consumer seeing a half-started response.
                        started = True
                        for event in translator.start():
                            yield event
                    for event in translator.chunk(part):
                        yield event
            finally:
                await parts.aclose()
            if translator.usage is None:
                raise ModelProviderError(
                    f"Ollama at {self.host} ended the stream for model {self.model!r} "
                    "before its final chunk"
                )
            for event in translator.finish():
                yield event
            usage = translator.usage
            span.span_data.usage = {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            }
            if tracing.include_data():
                span.span_data.output = [item.model_dump() for item in translator.output]
