"""DBOS's serializer in timestep (``durable._json``): JSON text, nothing converted silently.

Fuzzed with hypothesis: any JSON-compatible value (tuples, dict and str subclasses included) is
written as the compact JSON ``json.dumps`` gives for its plain form and reads back equal; a dict
key that is not a string anywhere in it is refused (``json.dumps`` would turn it into a string);
an exception is stored as ``$error`` and comes back as its class; any other object is refused.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timestep import DurableStepError
from timestep.durable._json import JSONSerializer

SERIALIZER = JSONSerializer()


class Tag(str):
    """A str subclass (enum-like values are)."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.text(max_size=4).map(Tag),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.text(max_size=6)
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(keys, children, max_size=4).map(OrderedDict),
    )


values = st.recursive(scalars, _containers, max_leaves=20)


def _plain(value: Any) -> Any:
    """The plain JSON form: tuples as lists, dict subclasses as dicts."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@given(values)
def test_values_are_written_as_compact_json_and_read_back(value: Any) -> None:
    text = SERIALIZER.serialize(value)
    assert text == json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)
    assert SERIALIZER.deserialize(text) == _plain(value)


@given(values, st.one_of(st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)))
def test_a_key_that_is_not_a_string_is_refused_wherever_it_is(value: Any, key: Any) -> None:
    for nested in ({key: value}, [{"a": {key: 1}}], ({"ok": [value, {key: value}]},)):
        with pytest.raises(TypeError, match="JSON object keys must be strings, got"):
            SERIALIZER.serialize(nested)


def test_non_finite_floats_round_trip_as_python_reads_them() -> None:
    text = SERIALIZER.serialize({"x": [math.inf, -math.inf]})
    assert SERIALIZER.deserialize(text) == {"x": [math.inf, -math.inf]}
    assert math.isnan(SERIALIZER.deserialize(SERIALIZER.serialize(math.nan)))


def test_other_objects_are_refused_by_type() -> None:
    for bad in (object(), {1, 2}, b"bytes", {"a": [object()]}):
        with pytest.raises(TypeError, match="is not JSON-serializable for a durable checkpoint"):
            SERIALIZER.serialize(bad)


def test_errors_come_back_as_their_class_or_a_durable_step_error() -> None:
    back = SERIALIZER.deserialize(SERIALIZER.serialize(ValueError("bad", 3)))
    assert type(back) is ValueError and back.args == ("bad", 3)

    class Local(Exception):
        pass

    lost = SERIALIZER.deserialize(SERIALIZER.serialize(Local("gone")))
    assert isinstance(lost, DurableStepError) and "Local: gone" in str(lost)
    nested = SERIALIZER.deserialize(SERIALIZER.serialize({"e": [KeyError("k")]}))
    assert isinstance(nested["e"][0], KeyError)
