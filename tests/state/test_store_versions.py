"""Version history, stale-save conflicts and retention, on SQLite, Postgres and files."""

from __future__ import annotations

import asyncio

import pytest
from agents import Runner

from harness.refund_agent import build_agent, full_model, start_model
from timestep import RunNotFoundError, RunStateStore, StaleStateError


async def _waiting_state_json() -> dict[str, object]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc: dict[str, object] = result.to_state().to_json()
    return doc


async def test_every_save_appends_and_old_versions_stay_loadable(store_target: str) -> None:
    agent = build_agent(full_model())
    store = RunStateStore(store_target, agent, run_id="r1")
    waiting = await Runner.run(agent, "Refund order 42")
    assert (await store.save(waiting)).version == 1
    state = await store.load()
    state.approve(state.get_interruptions()[0])
    done = await Runner.run(agent, state)
    assert (await store.save(done)).version == 2

    history = await store.versions()
    assert [(v.version, v.status) for v in history] == [(1, "waiting"), (2, "done")]
    assert all(v.state_json is None for v in history)  # listing does not load bodies
    old = await store.load(version=1)
    assert [i.tool_name for i in old.get_interruptions()] == ["refund"]
    latest = await store.load()
    assert latest.get_interruptions() == []
    assert (await store.get()).version == 2


async def test_save_based_on_a_stale_version_raises_and_writes_nothing(store_target: str) -> None:
    agent = build_agent(start_model())
    store = RunStateStore(store_target, agent, run_id="r1")
    await store.save(await Runner.run(agent, "Refund order 42"))
    first = await store.load()
    second = await store.load()  # e.g. another process, same base version 1
    first.approve(first.get_interruptions()[0])
    second.reject(second.get_interruptions()[0])

    assert (await store.save(first)).version == 2
    with pytest.raises(StaleStateError) as caught:
        await store.save(second)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert "version 1" in str(caught.value) and "version 2" in str(caught.value)
    assert [v.version for v in await store.versions()] == [1, 2]


async def test_explicit_expected_version_is_checked(store_target: str) -> None:
    store = RunStateStore(store_target, run_id="r1")
    doc = await _waiting_state_json()
    await store.save_json("r1", doc, sdk_version="0.24.0")
    with pytest.raises(StaleStateError):
        await store.save_json("r1", doc, sdk_version="0.24.0", expected_version=0)
    stored = await store.save_json("r1", doc, sdk_version="0.24.0", expected_version=1)
    assert stored.version == 2


async def test_concurrent_saves_on_one_base_exactly_one_wins(store_target: str) -> None:
    store = RunStateStore(store_target, run_id="race")
    doc = await _waiting_state_json()
    await store.save_json("race", doc, sdk_version="0.24.0")

    async def attempt() -> str:
        other = RunStateStore(store_target, run_id="race")
        try:
            await other.save_json("race", doc, sdk_version="0.24.0", expected_version=1)
        except StaleStateError:
            return "stale"
        return "saved"

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(outcomes) == ["saved"] + ["stale"] * 7
    assert [v.version for v in await store.versions()] == [1, 2]


async def test_concurrent_first_saves_of_a_new_run_one_wins_the_other_is_stale(
    store_target: str,
) -> None:
    """Two writers create the same new run at once: one wins, the other gets StaleStateError.

    On Postgres both see no row (nothing to lock yet) and both insert; the loser's duplicate key
    must turn into a re-read and a StaleStateError, never a StoreUnavailableError.
    """
    doc = await _waiting_state_json()
    writers = [RunStateStore(store_target), RunStateStore(store_target)]
    rounds = 1 if store_target.endswith(".json") else 25
    for n in range(rounds):
        run_id = "state" if rounds == 1 else f"first-{n}"
        outcomes = await asyncio.gather(
            *(w.save_json(run_id, doc, expected_version=0) for w in writers),
            return_exceptions=True,
        )
        saved = [o for o in outcomes if not isinstance(o, BaseException)]
        stale = [o for o in outcomes if isinstance(o, StaleStateError)]
        assert len(saved) == 1 and len(stale) == 1, outcomes
        assert (stale[0].expected, stale[0].actual) == (0, 1)
        assert [v.version for v in await writers[0].versions(run_id)] == [1]


async def test_concurrent_first_saves_without_a_base_both_append(store_target: str) -> None:
    doc = await _waiting_state_json()
    writers = [RunStateStore(store_target), RunStateStore(store_target)]
    rounds = 1 if store_target.endswith(".json") else 10
    for n in range(rounds):
        run_id = "state" if rounds == 1 else f"open-{n}"
        outcomes = await asyncio.gather(*(w.save_json(run_id, doc) for w in writers))
        assert sorted(o.version for o in outcomes) == [1, 2]


async def test_retention_keeps_the_newest_versions(store_target: str) -> None:
    store = RunStateStore(store_target, run_id="r1", keep_versions=2)
    doc = await _waiting_state_json()
    for _ in range(4):
        await store.save_json("r1", doc, sdk_version="0.24.0")
    assert [v.version for v in await store.versions()] == [3, 4]
    with pytest.raises(RunNotFoundError, match=r"no version 1 \(kept versions: 3, 4\)"):
        await store.get("r1", version=1)


async def test_set_status_and_list_runs_filter(store_target: str) -> None:
    store = RunStateStore(store_target, run_id="r1")
    await store.save_json("r1", await _waiting_state_json(), sdk_version="0.24.0")
    assert [r.run_id for r in await store.list_runs(status="waiting")] == ["r1"]
    await store.set_status("r1", "cancelled")
    assert await store.list_runs(status="waiting") == []
    [summary] = await store.list_runs(status="cancelled")
    assert summary.latest_version == 1
    await store.set_status("r1", "failed", metadata={"error": "boom", "by": "ops"})
    await store.set_status("r1", "failed", metadata={"error": "QuotaError: quota exceeded"})
    [summary] = await store.list_runs(status="failed")
    assert summary.metadata == {"error": "QuotaError: quota exceeded", "by": "ops"}
    assert summary.latest_version == 1  # a status change writes no version
    with pytest.raises(RunNotFoundError):
        await store.set_status("nope", "failed", metadata={"error": "x"})
