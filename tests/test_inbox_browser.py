"""A real browser (Debian's chromium, driven by Playwright) approves a run in the inbox.

``timestep serve`` runs as a subprocess; the test opens the URL it prints, watches a pending
approval arrive over server-sent events, approves it, and sees the resumed run finish.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from test_cli_support import (
    AGENTS_MODULE,
    agents_module,
    cli_env,
    interrupted_run,
    write_agents_module,
)
from timestep.state import RunStateStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``timestep serve`` on a free port; yields (login URL, database URL)."""
    db_url = f"sqlite:///{tmp_path / 'browser.db'}"
    write_agents_module(tmp_path)
    upgrade = subprocess.run(
        [sys.executable, "-m", "timestep.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "timestep.cli", "serve", "--port", "0",
         "--agent", f"{AGENTS_MODULE}:finish"],
        cwd=tmp_path, env=cli_env(db_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "timestep inbox on " not in first:
            proc.kill()
            pytest.fail(
                f"serve did not start: {first!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        url = first.split("timestep inbox on ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert "?token=" in url
        yield url, db_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _pause_a_run(db_url: str, directory: Path) -> None:
    agents = agents_module(directory)
    async with RunStateStore(db_url) as store:
        await interrupted_run(store, "ticket-42", agents.start())


def test_browser_approves_a_pending_call_and_sees_the_run_finish(
    inbox: tuple[str, str], tmp_path: Path
) -> None:
    url, db_url = inbox
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            assert "token=" not in page.url  # the token moved into an HttpOnly cookie
            expect(page.get_by_test_id("live")).to_have_text("live")
            expect(page.get_by_test_id("no-approvals")).to_be_visible()

            # Playwright's sync API owns this thread's event loop: save the run from another.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _pause_a_run(db_url, tmp_path)).result(timeout=120)

            card = page.locator('[data-testid="approval"][data-run-id="ticket-42"]')
            expect(card).to_be_visible()
            expect(card).to_contain_text("refund")
            expect(card.get_by_test_id("arguments")).to_contain_text('"amount": 5')
            page.locator("#decided-by").fill("erin")
            page.locator("#decided-by").dispatch_event("change")
            card.get_by_test_id("approve").click()

            expect(page.get_by_test_id("no-approvals")).to_be_visible()
            status = page.locator('[data-testid="run"][data-run-id="ticket-42"]').get_by_test_id(
                "run-status"
            )
            expect(status).to_have_text("done", timeout=120_000)

            page.locator('[data-testid="run"][data-run-id="ticket-42"]').click()
            timeline = page.get_by_test_id("timeline")
            expect(timeline).to_contain_text("Final output: Refunded 5 on order 42.")
            expect(timeline).to_contain_text("refunded 5 on order 42")
            expect(timeline).to_contain_text("1 decision(s)")
        finally:
            browser.close()
