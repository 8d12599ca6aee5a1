"""The inbox's browser tests: Debian's chromium, a served inbox, screenshots and the 375 px check.

The tests never skip: without ``/usr/bin/chromium`` they fail with the command that installs it
(``make test`` installs it first; see the Makefile's ``chromium`` target).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page

from harness.processes import stop_process

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags chromium's own connections are refused, many at a
#: time, by a machine without internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TIMESTEP_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


def require_chromium() -> None:
    """Fail (not skip) with the install command when chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser test needs Debian's chromium at {CHROMIUM}: run "
            "'apt-get install -y chromium' (as root) or 'make chromium'",
            pytrace=False,
        )


@contextmanager
def serve_inbox(directory: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """``timestep serve --port 0 ARGS`` in ``directory``; yields the URL it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "serve", "--port", "0", *args],
        cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "timestep inbox on " not in first:
            proc.kill()
            pytest.fail(
                f"serve did not start: {first!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield first.split("timestep inbox on ", 1)[1].strip()
    finally:
        stop_process(proc, timeout=30)


def no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 375px"


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot in ``ARTIFACTS/inbox/NAME.png``."""
    path = ARTIFACTS / "inbox" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path
