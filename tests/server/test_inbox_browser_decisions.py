"""The inbox's run page in a real browser (Debian's chromium, driven by Playwright): approve a
pending call with edited arguments, or answer the model instead of running the tool.

``timestep serve`` (the fixture of test_inbox_browser.py) resumes each run once it is decided; the
page then shows the edited call's real output (the tool ran with the edited arguments), the answer
given in place of a tool that never ran, and both decisions with who made them. Screenshots at
desktop and mobile widths go to ``tests/artifacts/inbox/`` (or ``$TIMESTEP_TEST_ARTIFACTS/inbox``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from test_inbox_browser import (
    _chromium,  # noqa: F401  (fixture: fails with the install command when chromium is missing)
    inbox,  # noqa: F401  (fixture)
)

from harness.browser import CHROMIUM, CHROMIUM_ARGS, no_horizontal_scroll, shot
from harness.cli_support import agents_module, interrupted_run
from timestep.state import RunStateStore

CAROL = "carol-token-0123456789"
ALICE = "alice-token-0123456789"


async def _pause(db_url: str, directory: Path) -> None:
    agents = agents_module(directory)
    async with RunStateStore(db_url) as store:
        await interrupted_run(store, "edit-me", agents.start())
        await interrupted_run(store, "answer-me", agents.start())


def _open_card(page: Page, base: str, run_id: str) -> None:
    page.goto(f"{base}/runs/{run_id}")
    expect(page.get_by_test_id("run-page-status")).to_have_text("waiting")
    page.get_by_test_id("run-pending").get_by_test_id("decide-other-toggle").click()


def test_run_page_approves_with_edited_arguments_and_answers_instead(
    inbox: tuple[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    base, db_url = inbox
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _pause(db_url, tmp_path)).result(timeout=120)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/login")
            page.get_by_label("Your access token").fill(ALICE)
            page.get_by_test_id("sign-in").click()
            expect(page.get_by_test_id("user")).to_have_text("signed in as alice")

            # edit the arguments: the textarea starts with the model's, bad JSON is refused
            _open_card(page, base, "edit-me")
            edited = page.get_by_test_id("run-pending").get_by_test_id("edit-arguments")
            expect(edited).to_have_value('{\n  "order_id": "42",\n  "amount": 5\n}')
            edited.fill('{"order_id": "42", "amount": ')
            page.get_by_test_id("run-pending").get_by_test_id("approve-edited").click()
            expect(page.locator("#message")).to_contain_text("not valid JSON")
            edited.fill("[2]")
            page.get_by_test_id("run-pending").get_by_test_id("approve-edited").click()
            expect(page.locator("#message")).to_have_text(
                "The edited arguments must be a JSON object."
            )
            edited.fill('{"order_id": "42", "amount": 2}')
            page.get_by_test_id("run-pending").get_by_test_id("reason").fill(
                "only the damaged item"
            )
            shot(page, "desktop-run-edit-arguments")
            page.get_by_test_id("run-pending").get_by_test_id("approve-edited").click()
            expect(page.locator("#message")).to_have_text(
                "Approved refund with edited arguments in edit-me"
            )
            expect(page.get_by_test_id("run-page-status")).to_have_text("done", timeout=120_000)
            conversation = page.get_by_test_id("conversation")
            expect(conversation).to_contain_text(
                'refund({"order_id":"42","amount":5})  — approved by alice with edited '
                'arguments {"order_id":"42","amount":2}'
            )
            # the tool ran with the edited arguments: its own output says so
            output = conversation.locator('[data-role="tool_output"]').last
            expect(output).to_have_text("Tool outputrefunded 2 on order 42")
            decision = page.locator('[data-testid="decision"][data-decision="approve-edited"]')
            expect(decision).to_contain_text("approved with edited arguments")
            expect(decision.get_by_test_id("decision-change")).to_have_text(
                '{"order_id":"42","amount":5} → {"order_id":"42","amount":2}'
            )
            expect(decision.get_by_test_id("decided-by")).to_have_text("alice")
            expect(decision).to_contain_text("only the damaged item")
            shot(page, "desktop-run-edited")

            # answer instead of running the tool
            _open_card(page, base, "answer-me")
            page.get_by_test_id("run-pending").get_by_test_id("answer").click()
            expect(page.locator("#message")).to_have_text("Write the answer the model gets.")
            page.get_by_test_id("run-pending").get_by_test_id("answer-output").fill(
                "Refunded by phone; nothing left to do."
            )
            page.set_viewport_size({"width": 375, "height": 812})
            no_horizontal_scroll(page)
            shot(page, "mobile-run-answer")
            page.get_by_test_id("run-pending").get_by_test_id("answer").click()
            expect(page.locator("#message")).to_have_text("Answered refund in answer-me")
            expect(page.get_by_test_id("run-page-status")).to_have_text("done", timeout=120_000)
            answered = page.locator('[data-role="tool_output"][data-status="answered"]')
            expect(answered).to_have_text(
                "Answerednot run; the model was given: Refunded by phone; nothing left to do."
            )
            expect(page.get_by_test_id("conversation")).to_contain_text(
                "answered by alice, not run"
            )
            decision = page.locator('[data-testid="decision"][data-decision="answer"]')
            expect(decision).to_contain_text("answered (tool not run)")
            expect(decision.get_by_test_id("decision-change")).to_have_text(
                "model was given: Refunded by phone; nothing left to do."
            )
            no_horizontal_scroll(page)
            shot(page, "mobile-run-answered")
        finally:
            browser.close()
