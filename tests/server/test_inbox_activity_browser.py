"""The inbox's activity section in a real browser: a running run, a queued run, a live worker.

A real ``timestep worker`` (concurrency 1) holds one run inside a tool while a second waits on the
queue (``harness.busy_worker``); ``timestep serve`` runs beside it. The browser (Debian's chromium,
driven by Playwright) signs in and sees the running run, the queued one and the worker (its pid,
alive); ``/api/activity`` answers what the OpenAPI document says; at a phone's width (375 px) the
page does not scroll sideways; once the tool is released both runs finish and the section says
nothing runs. Screenshots go to ``tests/artifacts/inbox/`` (or ``$TIMESTEP_TEST_ARTIFACTS/inbox``).

The test never skips: without ``/usr/bin/chromium`` it fails with the command that installs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema
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
from harness.busy_worker import busy_worker
from harness.cli_support import cli_env
from timestep.server import openapi_schema

CAROL = "carol-token-0123456789"


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``timestep serve`` (user carol) on a new store; yields (base URL, store URL)."""
    db_url = f"sqlite:///{tmp_path / 'activity.db'}"
    env = {**cli_env(db_url), "TIMESTEP_INBOX_USERS": f"carol:{CAROL}"}
    env["TIMESTEP_LOG_FILE"] = str(tmp_path / "serve.log")
    with serve_inbox(tmp_path, env) as url:
        yield url.removesuffix("/login"), db_url


def test_the_inbox_shows_running_and_queued_runs_and_the_live_worker(
    served: tuple[str, str], tmp_path: Path
) -> None:
    base, db_url = served
    with busy_worker(tmp_path, db_url, prefix="order") as worker, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{base}/login")
            page.get_by_label("Your access token").fill(CAROL)
            page.get_by_test_id("sign-in").click()
            assert page.url == f"{base}/"

            running = page.locator(f'[data-testid="running-run"][data-run-id="{worker.running}"]')
            expect(running).to_contain_text("agent busy")
            queued = page.locator(f'[data-testid="queued-run"][data-run-id="{worker.queued}"]')
            expect(queued).to_contain_text("python queue timestep")
            live = page.locator('[data-testid="worker"][data-alive="true"]')
            expect(live).to_have_count(1)
            expect(live).to_contain_text(f"pid {worker.process.pid}")
            expect(live).to_contain_text("python worker")
            expect(live).to_contain_text("1 segment(s)")
            expect(running).to_contain_text(
                f"on {live.get_attribute('data-executor-id')}", use_inner_text=True
            )
            shot(page, "desktop-activity")

            response = page.request.get(f"{base}/api/activity")
            assert response.status == 200
            body = response.json()
            doc = openapi_schema()
            schema = doc["paths"]["/api/activity"]["get"]["responses"]["200"]["content"]
            jsonschema.validate(
                body, {"components": doc["components"], **schema["application/json"]["schema"]}
            )
            assert [run["run_id"] for run in body["running"]] == [worker.running]
            assert [segment["run_id"] for segment in body["queued"]] == [worker.queued]

            mobile = browser.new_context(
                viewport={"width": 375, "height": 812}, storage_state=context.storage_state()
            )
            phone = mobile.new_page()
            phone.set_default_timeout(90_000)
            phone.goto(f"{base}/")
            expect(phone.locator('[data-testid="worker"][data-alive="true"]')).to_have_count(1)
            expect(phone.get_by_test_id("queued-run")).to_have_count(1)
            no_horizontal_scroll(phone)
            shot(phone, "mobile-activity")

            running.get_by_role("link").click()  # the run's own page
            expect(page.get_by_test_id("run-page-status")).to_have_text("running")
            page.get_by_test_id("back").click()

            worker.finish()
            expect(page.get_by_test_id("nothing-running")).to_be_visible(timeout=120_000)
            row = page.locator(f'[data-testid="run"][data-run-id="{worker.queued}"]')
            expect(row.get_by_test_id("run-status")).to_have_text("done")
        finally:
            browser.close()
