"""A real browser (Debian's chromium, driven by Playwright) works the inbox as two named users.

``timestep serve`` runs as a subprocess with named users; the browser signs in on the login page,
watches pending approvals arrive over server-sent events, approves one and rejects another, opens
each run's own page (a deep link, with a '/' in the run id) to read the conversation and the
decisions, and checks the pages at a phone's width (375 px: no horizontal scrolling). Screenshots
at desktop and mobile widths are written to ``tests/artifacts/inbox/`` (or
``$TIMESTEP_TEST_ARTIFACTS/inbox``).

The test never skips: without ``/usr/bin/chromium`` it fails with the command that installs it
(``make test`` installs it first; see the Makefile's ``chromium`` target).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect, sync_playwright

from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    no_horizontal_scroll,
    require_chromium,
    serve_inbox,
    shot,
)
from harness.cli_support import (
    AGENTS_MODULE,
    agents_module,
    cli_env,
    interrupted_run,
    write_agents_module,
)
from timestep.state import RunStateStore

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789abc"
SLASHED = "tenant/ticket-42"


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``timestep serve`` with users alice and bob on a free port; yields (base URL, database)."""
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
    env = {**cli_env(db_url), "TIMESTEP_INBOX_USERS": f"alice:{ALICE},bob:{BOB}"}
    with serve_inbox(tmp_path, env, "--agent", f"{AGENTS_MODULE}:finish_any") as url:
        assert url.endswith("/login")  # named users only: no token in the printed URL
        yield url.removesuffix("/login"), db_url


async def _pause_runs(db_url: str, directory: Path) -> None:
    agents = agents_module(directory)
    async with RunStateStore(db_url) as store:
        await interrupted_run(store, SLASHED, agents.start())
        await interrupted_run(store, "ticket-43", agents.start())


def test_browser_signs_in_decides_and_reads_each_run(
    inbox: tuple[str, str], tmp_path: Path
) -> None:
    base, db_url = inbox
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(60_000)

            # A deep link without credentials goes to the login page and comes back after it.
            page.goto(f"{base}/runs/{quote(SLASHED, safe='')}")
            assert "/login?next=" in page.url
            page.get_by_label("Your access token").fill("not-a-token-at-all")
            page.get_by_test_id("sign-in").click()
            expect(page.get_by_test_id("login-error")).to_have_text("That token is not valid.")
            page.get_by_label("Your access token").fill(ALICE)
            page.get_by_test_id("sign-in").click()
            assert page.url == f"{base}/runs/{quote(SLASHED, safe='')}"
            expect(page.get_by_test_id("run-error")).to_contain_text("no run")

            page.get_by_test_id("back").click()
            assert page.url == f"{base}/"
            expect(page.get_by_test_id("user")).to_have_text("signed in as alice")
            expect(page.get_by_test_id("live")).to_have_text("live")
            expect(page.get_by_test_id("no-approvals")).to_be_visible()

            # Playwright's sync API owns this thread's event loop: save the runs from another.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _pause_runs(db_url, tmp_path)).result(timeout=120)

            card = page.locator(f'[data-testid="approval"][data-run-id="{SLASHED}"]')
            expect(card).to_be_visible()
            expect(card).to_contain_text("refund")
            expect(card.get_by_test_id("arguments")).to_contain_text('"amount": 5')
            other = page.locator('[data-testid="approval"][data-run-id="ticket-43"]')
            expect(other).to_be_visible()
            shot(page, "desktop-inbox")
            card.get_by_test_id("approve").click()
            other.get_by_test_id("reject").click()
            expect(page.get_by_test_id("message")).to_have_text("Give a reason to reject.")
            other.get_by_test_id("reason").fill("refunds need a receipt")
            other.get_by_test_id("reject").click()
            expect(page.get_by_test_id("no-approvals")).to_be_visible()

            row = page.locator(f'[data-testid="run"][data-run-id="{SLASHED}"]')
            expect(row.get_by_test_id("run-status")).to_have_text("done", timeout=120_000)
            rejected_row = page.locator('[data-testid="run"][data-run-id="ticket-43"]')
            expect(rejected_row.get_by_test_id("run-status")).to_have_text("done", timeout=120_000)

            # filters
            page.get_by_test_id("filter-q").fill("tenant")
            expect(page.get_by_test_id("run")).to_have_count(1)
            expect(page.get_by_test_id("page")).to_have_text("1\u20131 of 1")
            page.get_by_test_id("filter-q").fill("")
            expect(page.get_by_test_id("run")).to_have_count(2)

            # the approved run's own page
            row.click()
            assert page.url == f"{base}/runs/{quote(SLASHED, safe='')}"
            run_page = page.get_by_test_id("run-page")
            expect(page.get_by_test_id("run-title")).to_have_text(f"Run {SLASHED}")
            conversation = page.get_by_test_id("conversation")
            messages = conversation.get_by_test_id("message")
            expect(messages.first).to_have_text("UserRefund order 42")
            expect(conversation).to_contain_text('lookup({"order_id":"42"})')
            expect(conversation).to_contain_text("order 42: paid 5")
            expect(conversation).to_contain_text("approved by alice")
            expect(conversation).to_contain_text("refunded 5 on order 42")
            expect(messages.last).to_have_text("AssistantHandled order 42.")
            expect(page.get_by_test_id("final-output")).to_have_text(
                "Final output: Handled order 42."
            )
            decision = run_page.get_by_test_id("decision")
            expect(decision).to_have_count(1)
            expect(decision.get_by_test_id("decided-by")).to_have_text("alice")
            expect(decision).to_contain_text("approved")
            expect(run_page.get_by_test_id("step").first).to_be_visible()
            shot(page, "desktop-run")

            # the rejected run, opened by its URL in a new tab of the same session
            tab = context.new_page()
            tab.set_default_timeout(60_000)
            tab.goto(f"{base}/runs/ticket-43")
            rejected = tab.locator(
                '[data-testid="message"][data-role="tool_output"][data-status="rejected"]'
            )
            expect(rejected).to_have_text(
                "Rejectednot run; the model was told: refunds need a receipt"
            )
            expect(tab.get_by_test_id("conversation")).to_contain_text("rejected by alice")
            expect(tab.get_by_test_id("decision")).to_contain_text("rejected")
            expect(tab.get_by_test_id("decision")).to_contain_text("refunds need a receipt")

            # a phone's width: nothing scrolls sideways
            for view in (page, tab):
                view.set_viewport_size({"width": 375, "height": 812})
            no_horizontal_scroll(page)
            shot(page, "mobile-run")
            no_horizontal_scroll(tab)
            shot(tab, "mobile-rejected-run")
            page.get_by_test_id("back").click()
            expect(page.get_by_test_id("run")).to_have_count(2)
            no_horizontal_scroll(page)
            shot(page, "mobile-inbox")

            # signing out needs signing in again
            page.get_by_test_id("sign-out").click()
            assert "/login" in page.url
            page.goto(f"{base}/")
            assert "/login?next=" in page.url
        finally:
            browser.close()
