"""Takeover on Postgres: live workers finish the runs of a worker killed with SIGKILL, within the
lease bound, each run by exactly one worker, with no completed step run again."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from timestep._env import LeaseSettings, js_number
from timestep._errors import ConfigurationError
from timestep.durable import _takeover, enqueue_run
from timestep.state import RunStateStore

APP = str(Path(__file__).with_name("test_durable_app.py"))
HEARTBEAT, LEASE = 0.5, 2.0
RUNS = 6


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))


def _lease_table(url: str, *beating: str) -> tuple[sa.Engine, LeaseSettings]:
    """An engine on ``url`` with the lease table and a fresh lease for each of ``beating``."""
    engine = _engine(url)
    settings = LeaseSettings(HEARTBEAT, LEASE)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS dbos"))
    _takeover.ensure_table(engine)
    for executor in beating:
        _takeover.beat(engine, executor, settings)
    return engine, settings


def test_lease_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMESTEP_EXECUTOR_HEARTBEAT", "0.5")
    monkeypatch.setenv("TIMESTEP_EXECUTOR_LEASE", "2")
    assert LeaseSettings.resolve() == LeaseSettings(0.5, 2.0)
    assert LeaseSettings.resolve(lease=3).lease == 3
    monkeypatch.setenv("TIMESTEP_EXECUTOR_LEASE", "soon")
    with pytest.raises(ConfigurationError, match="TIMESTEP_EXECUTOR_LEASE"):
        LeaseSettings.resolve()
    with pytest.raises(ConfigurationError, match="at least twice the heartbeat"):
        LeaseSettings(heartbeat=5, lease=6)
    with pytest.raises(ConfigurationError, match="positive"):
        LeaseSettings(heartbeat=0, lease=6)
    assert LeaseSettings().bound <= 30  # the documented default bound


#: Texts for $TIMESTEP_EXECUTOR_HEARTBEAT: accepted (the number) or refused, in both languages.
SECONDS_TEXTS = [
    "0.5", " 2 ", "+1", "1.", ".5", "1e1", "2E-1", "007",  # accepted
    "", "soon", "inf", "-inf", "Infinity", "nan", "0x10", "1_0", "1e400", "٣", "1 2", ".", "e1",
]  # fmt: skip


def _random_texts(count: int) -> list[str]:
    """Short texts over the characters a number of seconds is made of, and some it is not."""
    rng = random.Random(16)
    alphabet = "0123456789" * 3 + "+-..eE  \t_xXabInfinty٣\u00a0"
    return ["".join(rng.choices(alphabet, k=rng.randint(1, 8))) for _ in range(count)]


def _python_outcome(monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    monkeypatch.setenv("TIMESTEP_EXECUTOR_HEARTBEAT", text)
    try:
        return repr(LeaseSettings.resolve(lease=1e9).heartbeat)
    except ConfigurationError as error:
        return f"{type(error).__name__}: {error}"


def test_the_lease_settings_read_the_same_texts_in_both_languages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same heartbeat texts give the same number or the same error in Python and TypeScript."""
    from harness.node import TS, built_package_node, run_node

    texts = SECONDS_TEXTS + _random_texts(500)
    lines = run_node(
        built_package_node(),
        tmp_path,
        f"""
        import {{ leaseSettings }} from {json.dumps((TS / "dist/durable/lease.js").as_uri())};
        const out = [];
        for (const text of {json.dumps(texts)}) {{
          process.env.TIMESTEP_EXECUTOR_HEARTBEAT = text;
          try {{ const h = leaseSettings({{ lease: 1e9 }}).heartbeat;
            out.push(Number.isInteger(h) ? h.toFixed(1) : String(h)); }}
          catch (e) {{ out.push(`${{e.name}}: ${{e.message}}`); }}
        }}
        console.log(JSON.stringify(out));
        """,
    )
    typescript = json.loads(lines[-1])
    python = [_python_outcome(monkeypatch, text) for text in texts]
    assert python == typescript
    accepted = [text for text, outcome in zip(texts, python, strict=True) if "Error" not in outcome]
    assert len(accepted) > 60  # the random texts reach both branches
    assert python[:8] == ["0.5", "2.0", "1.0", "1.0", "0.5", "10.0", "0.2", "7.0"]
    assert python[8] == "5.0"  # empty: the default
    refused = python[9 : len(SECONDS_TEXTS)]
    assert all(o.startswith("ConfigurationError: $TIMESTEP_EXECUTOR_HEARTBEAT") for o in refused)


def test_numbers_in_the_lease_messages_are_written_as_javascript_writes_them(
    tmp_path: Path,
) -> None:
    """``js_number`` against Node's ``String(x)``: fixed edge cases and random magnitudes."""
    from harness.node import built_package_node, run_node

    rng = random.Random(21)
    values = [0.0, -0.0, 5.0, -3.0, 0.1 + 0.2, 1e-7, 1e-6, 1.5e-6, 1e21, 1e20, 123456789.125]
    values += [5e-324, 1.7976931348623157e308, float("nan"), float("inf"), float("-inf"), 2.5e-5]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(400)]
    values += [float(rng.randint(-(10**22), 10**22)) for _ in range(50)]

    def as_json(value: float) -> float | str:
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return "-0" if value == 0 and math.copysign(1, value) < 0 else value

    lines = run_node(
        built_package_node(),
        tmp_path,
        f"""
        const special = {{ nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 }};
        const values = {json.dumps([as_json(v) for v in values])};
        console.log(JSON.stringify(values.map((v) => String(v in special ? special[v] : v))));
        """,
    )
    assert [js_number(v) for v in values] == json.loads(lines[-1])


def test_db_upgrade_creates_the_lease_table(postgres_db_url: str) -> None:
    from timestep.cli import main

    assert main(["db", "upgrade", "--db", postgres_db_url]) == 0
    engine = _engine(postgres_db_url)
    try:
        assert "timestep_executors" in sa.inspect(engine).get_table_names(schema="dbos")
    finally:
        engine.dispose()


def test_exactly_one_live_worker_claims_a_dead_executor(postgres_db_url: str) -> None:
    engine, settings = _lease_table(postgres_db_url, "dead", "alive")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"UPDATE {_takeover.TABLE} SET heartbeat_at = now() - interval '1 minute' "
                    "WHERE executor_id = 'dead'"
                )
            )
        claims: dict[str, list[str]] = {}
        start = threading.Barrier(8)

        def claim(me: str) -> None:
            start.wait()
            claims[me] = _takeover.claim_dead(engine, me, settings)

        threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [me for me, dead in claims.items() if dead]
        assert len(winners) == 1 and claims[winners[0]] == ["dead"]  # and never "alive"
        assert _takeover.claim_dead(engine, "late", settings) == []  # the claim is live
        with engine.begin() as conn:  # the claimer died too: its claim expires after a lease
            conn.execute(
                sa.text(
                    f"UPDATE {_takeover.TABLE} SET taken_at = now() - interval '1 minute' "
                    "WHERE executor_id = 'dead'"
                )
            )
        assert _takeover.claim_dead(engine, "late", settings) == ["dead"]
        _takeover.release(engine, "late", "dead")
        _takeover.beat(engine, "alive", settings)
        with engine.connect() as conn:
            left: list[str] = list(
                conn.execute(sa.text(f"SELECT executor_id FROM {_takeover.TABLE}")).scalars()
            )
            assert list(left) == ["alive"]
    finally:
        engine.dispose()


def test_python_workers_claim_only_python_executors(postgres_db_url: str) -> None:
    """A dead TypeScript process's lease is left to TypeScript's workers (a Python worker would
    find none of its segments and delete the row, and the TypeScript segments would wait)."""
    engine, settings = _lease_table(postgres_db_url, "py-dead")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO {_takeover.TABLE} (executor_id, lease_seconds, host, pid, "
                    "language, worker) VALUES ('ts-dead', 2, 'h', 1, 'typescript', false)"
                )
            )
            conn.execute(
                sa.text(f"UPDATE {_takeover.TABLE} SET heartbeat_at = now() - interval '1 minute'")
            )
        assert _takeover.claim_dead(engine, "py-worker", settings) == ["py-dead"]
        assert _takeover.take_over(engine, "py-worker", settings) == {}
        with engine.connect() as conn:
            ts_row = conn.execute(
                sa.text(f"SELECT taken_by FROM {_takeover.TABLE} WHERE executor_id = 'ts-dead'")
            ).one()
        assert ts_row.taken_by is None
    finally:
        engine.dispose()


def _read_log(path: str) -> list[dict[str, Any]]:
    from test_durable_app import read_log

    return read_log(path)


@pytest.mark.slow
async def test_live_workers_take_over_the_runs_of_a_killed_worker(
    postgres_db_url: str, tmp_path: Path
) -> None:
    log, release = str(tmp_path / "events.jsonl"), tmp_path / "release"
    store = RunStateStore(postgres_db_url)
    assert await store.list_runs() == []  # creates timestep's tables before the workers start
    env = dict(
        os.environ,
        TIMESTEP_TEST_LOG=log,
        TIMESTEP_TEST_TURNS="3",
        TIMESTEP_TEST_BLOCK_FILE=str(release),
        TIMESTEP_EXECUTOR_HEARTBEAT=str(HEARTBEAT),
        TIMESTEP_EXECUTOR_LEASE=str(LEASE),
    )
    env.pop("TIMESTEP_CRASH", None)
    workers = {
        proc.pid: proc
        for proc in (
            subprocess.Popen(
                [sys.executable, APP, "worker", postgres_db_url, "-", "2"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"worker-{n}.err", "wb"),  # noqa: SIM115
            )
            for n in range(3)
        )
    }
    try:
        deadline = time.monotonic() + 120
        while sum(e["kind"] == "worker_started" for e in _read_log(log)) < 3:
            assert time.monotonic() < deadline, "workers did not start"
            await asyncio.sleep(0.2)
        for n in range(RUNS):
            for attempt in range(100):  # the first worker may still be creating DBOS's tables
                try:
                    await enqueue_run("payer", "pay", run_id=f"t-{n}", store=store)
                    break
                except sa.exc.SQLAlchemyError:
                    if attempt == 99:
                        raise
                    await asyncio.sleep(0.3)

        def blocked() -> dict[str, int]:  # run -> pid of the worker holding it in call_1
            return {
                e["run"]: e["pid"]
                for e in _read_log(log)
                if e["kind"] == "tool" and e["call_id"] == "call_1"
            }

        deadline = time.monotonic() + 120
        while len(blocked()) < RUNS:
            assert time.monotonic() < deadline, f"only {len(blocked())} runs reached call_1"
            await asyncio.sleep(0.2)
        holders = Counter(blocked().values())
        victim = holders.most_common(1)[0][0]
        victim_runs = {run for run, pid in blocked().items() if pid == victim}
        killed_at = time.monotonic()
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(timeout=10)
        release.touch()

        finished: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while len(finished) < RUNS:
            for summary in await store.list_runs(status="done"):
                finished.setdefault(summary.run_id, time.monotonic() - killed_at)
            assert time.monotonic() < deadline, f"finished only {sorted(finished)}" + "".join(
                p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("worker-*.err")
            )
            await asyncio.sleep(0.1)
        with sa.create_engine(
            sa.make_url(postgres_db_url).set(drivername="postgresql+psycopg")
        ).connect() as conn:
            leases: set[int] = set(
                conn.execute(sa.text(f"SELECT pid FROM {_takeover.TABLE}")).scalars().all()
            )
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)

    took = max(finished[run] for run in victim_runs)
    print(f"takeover: {len(victim_runs)} runs of the killed worker finished {took:.1f} s after")
    # lease + heartbeat bound the takeover; the rest of each run is a few steps on Postgres
    assert took < LEASE + HEARTBEAT + 6.0
    events = _read_log(log)
    models = Counter((e["run"], e["turn"]) for e in events if e["kind"] == "model")
    assert set(models.values()) == {1} and len(models) == RUNS * 4  # no model step ran twice
    tools = Counter((e["run"], e["call_id"]) for e in events if e["kind"] == "tool")
    repeated = {run for (run, call), count in tools.items() if count > 1}
    assert repeated == victim_runs  # only the call in flight at the kill ran again ...
    assert all(tools[(run, "call_1")] == 2 for run in victim_runs)
    keys = {
        (e["run"], e["key"]) for e in events if e["kind"] == "tool" and e["call_id"] == "call_1"
    }
    assert len(keys) == RUNS  # ... with the same idempotency key
    for run in victim_runs:  # after the kill, exactly one live worker ran the rest of the run
        after = {e["pid"] for e in events if e.get("run") == run and e["kind"] == "model"}
        assert len(after - {victim}) == 1
    for n in range(RUNS):  # each run saved once: its first row and its final state
        assert [v.version for v in await store.versions(f"t-{n}")] == [0, 1]
    assert victim not in leases and len(leases) == 2  # the dead executor's lease was released
