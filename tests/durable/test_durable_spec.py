"""The persisted segment spec: pinned field names, JSON round trip, no credential."""

from __future__ import annotations

import dataclasses
import json

import pytest

from timestep import ConfigurationError
from timestep.durable._runtime import DurableRuntime
from timestep.durable._spec import SPEC_FIELDS, SegmentSpec, public_target, resolve_target
from timestep.state import RunStateStore


def test_persisted_spec_field_names_are_pinned() -> None:
    # Stored in DBOS's workflow inputs and read back on recovery: change only together with
    # APPLICATION_VERSION (see durable/_spec.py).
    assert SPEC_FIELDS == (
        "agent",
        "store",
        "max_turns",
        "stream",
        "input",
        "state",
        "session",
        "model",
        "run_config",
        "context",
    )
    assert tuple(f.name for f in dataclasses.fields(SegmentSpec)) == SPEC_FIELDS
    full = SegmentSpec(
        agent="a",
        store="sqlite:///x.db",
        max_turns=3,
        stream=True,
        input="hi",
        state={"$schemaVersion": "1.21"},
        session={"id": "s", "db": None},
        model="gpt-x",
        run_config={"workflow_name": "w"},
        context={"tenant": "acme"},
    )
    assert tuple(full.to_json()) == SPEC_FIELDS


def test_spec_round_trips_through_json_and_leaves_out_unset_fields() -> None:
    spec = SegmentSpec(agent="support", store="sqlite:///runs.db", input=["x"], model="m")
    data = json.loads(json.dumps(spec.to_json()))
    assert data == {
        "agent": "support",
        "store": "sqlite:///runs.db",
        "max_turns": 10,
        "stream": False,
        "input": ["x"],
        "model": "m",
    }
    assert SegmentSpec.from_json(data) == spec


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"store": "s"},
        {"agent": "a", "store": "s", "max_turns": "9"},
        {"agent": "a", "store": "s", "session": 3},
    ],
)
def test_a_malformed_spec_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        SegmentSpec.from_json(bad)


def test_public_target_drops_only_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMESTEP_DB", raising=False)
    full = "postgresql://ann:SECRET@db.example:5433/runs"
    persisted = public_target(full)
    assert "SECRET" not in persisted and persisted == "postgresql://ann@db.example:5433/runs"
    assert public_target("sqlite:///runs.db") == "sqlite:///runs.db"
    assert public_target("state.json") == "state.json"
    assert resolve_target(persisted, ["postgresql://bob:x@db.example:5433/runs", full]) == full
    assert resolve_target(persisted, []) == persisted
    monkeypatch.setenv("TIMESTEP_DB", "postgresql+psycopg://ann:SECRET@db.example:5433/runs")
    assert "SECRET" in resolve_target(persisted, [])


def test_a_runtime_completes_a_persisted_target_from_its_own_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    full = "postgresql://ann:SECRET@db.example:5433/runs"
    persisted = public_target(full)
    monkeypatch.delenv("TIMESTEP_DB", raising=False)
    worker_side = DurableRuntime()
    assert worker_side.add_store(RunStateStore(full)) == persisted  # what the spec stores
    assert worker_side.store_for(persisted).target == full  # the worker's own store
    from_env = DurableRuntime()
    assert from_env.store_for(persisted).target == persisted  # nothing known: no password
    monkeypatch.setenv("TIMESTEP_DB", full)
    assert DurableRuntime().store_for(persisted).target == full  # from $TIMESTEP_DB
