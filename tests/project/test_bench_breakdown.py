"""bench/breakdown_durable.py: the parts of timestep's own cost per run, and the calls it times."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench import BENCH_DIR, load_bench, run_bench_json

BENCH = BENCH_DIR / "breakdown_durable.py"


def _bench() -> ModuleType:
    return load_bench("breakdown_durable")


SECONDS = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(
    stock=st.fixed_dictionaries({"total": SECONDS, "work": SECONDS}),
    dbos=st.fixed_dictionaries(
        {"total": SECONDS, "step": SECONDS, "sys.check": SECONDS, "sys.record": SECONDS}
    ),
    ts=st.fixed_dictionaries(
        {
            "total": SECONDS,
            "Runner.run": SECONDS,
            "step": SECONDS,
            "reserved step": SECONDS,
            "sys.check": SECONDS,
            "sys.record": SECONDS,
            "sys.outcome": SECONDS,
            "store.run": SECONDS,
            "store.create_run": SECONDS,
            "store.save": SECONDS,
            "agent-graph clone": SECONDS,
            "work": SECONDS,
            "model wrapper": SECONDS,
            "tool wrapper": SECONDS,
            "sdk.to_state": SECONDS,
            "sdk.to_json": SECONDS,
        }
    ),
)
def test_the_parts_of_one_triple_add_up_to_its_own_cost(
    stock: dict[str, float], dbos: dict[str, float], ts: dict[str, float]
) -> None:
    bench = _bench()
    parts = bench.split(stock, dbos, ts)
    assert parts["own"] == pytest.approx(ts["total"] - stock["total"] - dbos["total"])
    assert sum(parts[p] for p in bench.PARTS) == pytest.approx(parts["own"], abs=1e-9)
    assert parts["store calls"] == pytest.approx(
        ts["store.run"] + ts["store.create_run"] + ts["store.save"]
    )
    assert parts["DBOS's calls, slower"] == pytest.approx(
        ts["sys.check"]
        + ts["sys.record"]
        + ts["sys.outcome"]
        - dbos["sys.check"]
        - dbos["sys.record"]
    )
    assert parts[bench.SDK_STATE] == pytest.approx(ts["sdk.to_state"] + ts["sdk.to_json"])
    steps = ts["step"] + ts["reserved step"]
    wrapped = ts["model wrapper"] + ts["tool wrapper"]
    assert parts["model and tool wrappers"] == pytest.approx(wrapped - steps)
    assert parts["step bodies"] == pytest.approx(
        steps - ts["sys.check"] - ts["sys.record"] - ts["sys.outcome"] - ts["work"]
        - (dbos["step"] - dbos["sys.check"] - dbos["sys.record"])
    )  # fmt: skip
    assert parts["SDK beside the wrappers"] == pytest.approx(
        ts["Runner.run"] - wrapped - (stock["total"] - stock["work"])
    )
    assert parts["the work, slower"] == pytest.approx(ts["work"] - stock["work"])


@pytest.mark.parametrize("variant", ["sdk_state", "dbos_hops", "dbos_sql"])
def test_it_times_the_calls_each_run_makes(tmp_path: Path, variant: str) -> None:
    """The wrapped names still exist and are the ones a run calls (a rename would zero a part)."""
    target = f"sqlite:///{tmp_path}/breakdown.db"
    flag = "--" + variant.replace("_", "-")
    found = run_bench_json(
        BENCH.name,
        *("--child", "--target", target, "--runs", "2", flag),
        TIMESTEP_DBOS_LOG_LEVEL="ERROR",
    )
    calls = found["calls_per_run"]
    steps = _bench().STEPS
    assert calls["stock"] == {"Runner.run": 1, "work": steps}
    for kind in ("dbos", "timestep"):
        assert calls[kind]["sys.check"] == steps
        assert calls[kind]["sys.record"] == steps
        assert calls[kind]["sys.workflow row"] == 1
        assert calls[kind]["sys.outcome"] == 1
    assert calls["dbos"]["step"] == steps
    ts = calls["timestep"]
    assert ts["step"] + ts["reserved step"] == steps
    for label in ("store.run", "store.create_run", "store.save", "agent-graph clone"):
        assert ts[label] == 1, label
    assert ts["Runner.run"] == 1
    # the model's and tool's own calls, each inside timestep's wrapper of it
    assert ts["work"] == ts["model wrapper"] + ts["tool wrapper"] == steps
    assert ts["tool wrapper"] == ts["reserved step"] > 0
    assert (ts["sdk.to_state"], ts["sdk.to_json"]) == (1, 2)  # the save's; the first row's JSON
    assert set(found["parts_ms"]) == {*_bench().PARTS, _bench().SDK_STATE, "own"}
    assert set(found["calls_ms"]["timestep"]) == set(ts)
    # a timestep run is the stock run's work and its steps (which may take less than DBOS's)
    assert found["total_ms"]["timestep"] > found["total_ms"]["stock"] > 0
    assert found["total_ms"]["dbos"] > 0
    low, high = found["own_interval_ms"]  # where the median own cost lies, around it
    assert low <= found["parts_ms"]["own"] <= high
    # the fourth run: the same run, the same calls, with one faster path turned off
    fourth, _off, saver = _bench().VARIANTS[variant]
    assert calls[fourth] == ts
    assert set(_bench().VARIANTS).intersection(found) == {variant}
    low, high = found[variant]["own_interval_ms"]
    assert low <= found[variant]["own_ms"] <= high
    low, high = found[variant]["saved_interval_ms"]
    assert low <= found[variant]["saved_ms"] <= high
    lines = _bench().table({"SQLite file": found})
    assert lines[2 + 3].startswith(f"| {fourth} | ")
    assert any(line.startswith(f"| saved by {saver} (") for line in lines)


async def test_the_sdk_state_run_saves_with_the_sdks_own_code() -> None:
    """Inside the block the store's save runs the SDK's to_state and to_json; after it, not."""
    import agents.result as result_module
    from agents import Agent, Runner
    from agents.testing import ScriptedModel, assistant_message

    from timestep.state import _nested_refs, _state_json, _store

    name = "rebase_nested_history_owned_item_refs"
    faster = getattr(result_module, name)
    model = ScriptedModel([[assistant_message("x")]])
    state = (await Runner.run(Agent(name="a", model=model), "go")).to_state()
    with _bench()._sdk_state_paths():
        assert getattr(result_module, name) is _nested_refs.ORIGINALS[name]
        assert vars(_store)["state_json"] is not _state_json.state_json
        assert vars(_store)["state_json"](state) == state.to_json()
    assert getattr(result_module, name) is faster
    assert vars(_store)["state_json"] is _state_json.state_json


async def test_the_dbos_hops_run_sends_every_step_call_to_dboss_threads(tmp_path: Path) -> None:
    """Inside the block no call around a step runs on the loop; after it, they do again."""
    from dbos._dbos import _get_dbos_instance

    from timestep.durable import shutdown
    from timestep.durable._runtime import RUNTIME

    await asyncio.to_thread(RUNTIME.launch, f"sqlite:///{tmp_path}/hops.db")
    try:
        executor = _get_dbos_instance()._executor_field
        on_loop = getattr(executor, "inline", None)
        assert on_loop  # timestep's executor, with calls it keeps on the loop
        with _bench()._dbos_hops():
            assert getattr(executor, "inline", None) == frozenset()
        assert getattr(executor, "inline", None) == on_loop
    finally:
        shutdown()


async def test_the_dbos_sql_run_checks_and_records_with_dboss_own_code(tmp_path: Path) -> None:
    """Inside the block every check and record takes DBOS's method; after it, the compiled ones."""
    from dbos._dbos import _get_dbos_instance

    from timestep.durable import shutdown
    from timestep.durable._runtime import RUNTIME
    from timestep.durable._step_sql import step_rows

    await asyncio.to_thread(RUNTIME.launch, f"sqlite:///{tmp_path}/sql.db")
    try:
        rows = step_rows(_get_dbos_instance()._sys_db)
        assert rows is not None and rows.enabled
        with _bench()._dbos_sql():
            assert not rows.enabled
        assert rows.enabled
    finally:
        shutdown()
