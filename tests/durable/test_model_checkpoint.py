"""A model step's checkpoint read back: output items by their type tag, usage from the live call."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from agents import Agent, ModelResponse, Usage
from agents.items import TResponseOutputItem
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.usage import RequestUsage, deserialize_usage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails
from pydantic import BaseModel, TypeAdapter, ValidationError

from timestep.durable import run_durable, shutdown
from timestep.durable._steps import dump_model_response, load_model_response, load_output_item
from timestep.state import RunStateStore

_PLAIN: TypeAdapter[Any] = TypeAdapter(typing.cast(Any, TResponseOutputItem))


def _json_for(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Raw JSON values that a field annotated ``annotation`` accepts (for the SDK's item models)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _json_for(get_args(annotation)[0], depth)
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (Union, types.UnionType):
        return st.one_of([_json_for(a, depth) for a in get_args(annotation)])
    if origin is list:
        (inner,) = get_args(annotation) or (Any,)
        return st.lists(_json_for(inner, depth + 1), max_size=2 if depth < 3 else 0)
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        strategies = {name: _json_for(f.annotation, depth + 1) for name, f in fields.items()}
        return st.fixed_dictionaries(
            {n: s for n, s in strategies.items() if fields[n].is_required()},
            optional={n: s for n, s in strategies.items() if not fields[n].is_required()},
        )
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8),
        bool: st.booleans(),
        int: st.integers(-5, 5),
        float: st.floats(allow_nan=False, allow_infinity=False),
    }
    return simple.get(annotation, st.none())


_MEMBERS = get_args(get_args(TResponseOutputItem)[0])
_ITEMS = st.one_of([_json_for(member) for member in _MEMBERS])


def test_the_union_has_one_member_per_type_tag() -> None:
    tags = [get_args(m.model_fields["type"].annotation) for m in _MEMBERS]
    assert len(_MEMBERS) > 20
    assert all(len(t) == 1 for t in tags) and len({t[0] for t in tags}) == len(tags)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_ITEMS)
def test_items_read_by_their_tag_equal_the_plain_unions(raw: dict[str, Any]) -> None:
    expected = _PLAIN.validate_python(raw)
    got = load_output_item(raw)
    assert type(got) is type(expected)
    assert got == expected


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "no_such_item", "id": "x"},
        {"type": "function_call", "name": "add"},  # no call_id / arguments
        {"type": "message", "id": 3, "content": "x", "role": "user", "status": "done"},
        {"id": "m1", "content": [], "role": "assistant", "status": "completed"},  # no tag
        "not an object",
    ],
)
def test_bad_items_raise_the_plain_unions_error(raw: Any) -> None:
    with pytest.raises(ValidationError) as expected:
        _PLAIN.validate_python(raw)
    with pytest.raises(ValidationError) as got:
        load_output_item(raw)
    assert got.value.errors() == expected.value.errors()


def _usage() -> Usage:
    details = InputTokensDetails(cached_tokens=3, cache_write_tokens=1)
    return Usage(
        requests=1,
        input_tokens=11,
        input_tokens_details=details,
        output_tokens=7,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=2),
        total_tokens=18,
        request_usage_entries=[
            RequestUsage(11, 7, 18, details, OutputTokensDetails(reasoning_tokens=2))
        ],
    )


def test_a_checkpoint_reads_back_the_response_it_was_written_from() -> None:
    response = ModelResponse(
        output=[function_call("add", {"n": 1}, call_id="c1"), assistant_message("hi")],
        usage=_usage(),
        response_id="resp_1",
        request_id="req_1",
    )
    data = dump_model_response(response)
    replayed = load_model_response(data)
    assert [item.model_dump(mode="json") for item in replayed.output] == data["output"]
    assert replayed.usage == deserialize_usage(data["usage"]) == response.usage
    assert (replayed.response_id, replayed.request_id) == ("resp_1", "req_1")
    # a step that ran here: the same items as a replay (both from the checkpoint), the live usage
    live = load_model_response(data, response.usage)
    assert live.usage is response.usage and live.output == replayed.output


class _Counting(ScriptedModel):
    """A scripted model whose responses carry a known Usage object."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usages: list[Usage] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        response = await super().get_response(*args, **kwargs)
        response.usage = _usage()
        self.usages.append(response.usage)
        return response


@pytest.fixture
def store(tmp_path: Any) -> Iterator[RunStateStore]:
    yield RunStateStore(f"sqlite:///{tmp_path / 'runs.db'}")
    shutdown()


async def test_a_live_model_step_hands_the_sdk_the_models_usage(store: RunStateStore) -> None:
    model = _Counting([[assistant_message("done")]])
    result = await run_durable(Agent(name="a", model=model), "hi", run_id="u1", store=store)
    assert result.final_output == "done"
    assert [r.usage for r in result.raw_responses] == model.usages
    assert result.raw_responses[0].usage is model.usages[0]
    assert result.context_wrapper.usage.input_tokens == 11
    saved = await store.get("u1")
    assert saved.status == "done"
