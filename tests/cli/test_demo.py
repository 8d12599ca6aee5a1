"""The README's main job, run end to end as a user would: ``timestep demo``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def _timestep_command() -> list[str]:
    script = Path(sys.executable).with_name("timestep")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "timestep.cli"]


def test_demo_pauses_approves_and_resumes_in_a_new_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_DB"}
    done = subprocess.run(
        [*_timestep_command(), "demo", "--model", "scripted"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "scripted stand-in" in out  # the demo says when no real model is used
    assert re.search(r"run is 'waiting'; pending approvals", out)
    assert 'refund({"order_id": "42", "amount": 25})' in out
    first_pid = os.getpid()
    resumed = re.search(r"process (\d+) resumes run", out)
    assert resumed and int(resumed.group(1)) != first_pid
    assert "run is 'done' at version 2 (3 saved: 0, 1, 2)" in out
    assert "Answer: Done. Refund of $25 issued for order 42; confirmation R-42-25." in out
    assert (tmp_path / "timestep-demo" / "timestep.db").exists()


@pytest.mark.parametrize("bad", [["--model", "nope/xyz"]])
def test_demo_with_an_unknown_model_prefix_fails_clearly(tmp_path: Path, bad: list[str]) -> None:
    done = subprocess.run(
        [*_timestep_command(), "demo", *bad],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "nope" in (done.stdout + done.stderr)
    assert "Traceback" not in done.stderr


def _local_model_ready() -> bool:
    from timestep.models.local import is_ready

    return is_ready()


@pytest.mark.slow
def test_demo_runs_on_the_local_model_by_default(tmp_path: Path) -> None:
    if not _local_model_ready() and os.environ.get("CI") != "true":
        pytest.skip("local model not set up: run `python -m timestep.models.local setup`")
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_DB"}
    done = subprocess.run(
        [*_timestep_command(), "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "model: local/qwen2.5-0.5b" in out
    assert re.search(r"- refund\(\{\"order_id\": \"42\", \"amount\": 25\}\)", out), out
    assert "run is 'done' at version 2 (3 saved: 0, 1, 2)" in out
    answer = out.split("Answer:", 1)[1]
    assert "25" in answer or "42" in answer, answer
