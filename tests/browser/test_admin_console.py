"""The operator console (/admin) in headless Chromium against real processes.

The stack is a real `jobgate api` with no worker of its own: a job fails
when the test runs it with a handler that refuses it, and nothing else
moves until the test starts a real `jobgate worker`. The page is driven as
an operator would: paste a token, find the failed job, press Retry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from jobgate.api.auth import ADMIN_SCOPE, mint_token
from jobgate.embedded import EmbeddedValkey
from tests.api.held import QUICK, REFUSED, P, run_pending
from tests.server import SECRET, Stack

pytestmark = pytest.mark.browser

SETTLE_MS = 60_000


@pytest.fixture
def stack(valkey: EmbeddedValkey, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(valkey.url, f"console-{uuid.uuid4().hex[:10]}", tmp_path / "stack")
    s.start_api()
    yield s
    s.stop()


def operator_token() -> str:
    return mint_token(SECRET, "ops", 3600, scopes=[ADMIN_SCOPE])


def failed_job(stack: Stack, tmp_path: Path) -> str:
    """A job of alice's that failed the way a refused LLM key fails it."""
    r = httpx.post(f"{stack.url}{P}/submit", json={"request": QUICK},
                   headers=stack.headers("alice"), timeout=30)
    assert r.status_code == 202, r.text
    # In a thread of its own: Playwright's sync API keeps an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run_pending(stack, tmp_path)).result(timeout=60)
    return str(r.json()["job_id"])


def open_console(page: Any, stack: Stack, token: str) -> None:
    page.goto(f"{stack.url}/admin")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("token-save").click()


def admin_requests(page: Any) -> list[str]:
    return [u for u in page.requests if "/api/admin/" in u]


def page_errors(page: Any) -> list[str]:
    """Uncaught errors and console errors, but not the browser's line for a 4xx/5xx load."""
    noise = "Failed to load resource"
    return page.problems.errors + [c for c in page.problems.console if noise not in c]


def test_a_failed_job_is_retried_from_the_page_and_seen_completing(
    page: Any, stack: Stack, tmp_path: Path, artifacts: Path
) -> None:
    job_id = failed_job(stack, tmp_path)
    response = page.goto(f"{stack.url}/admin")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    open_console(page, stack, operator_token())

    row = page.locator(f"[data-testid=failed-job][data-key='{job_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(REFUSED)
    expect(row).to_contain_text("llm_auth")
    expect(row).to_contain_text("alice")
    expect(page.get_by_test_id("q-failed")).to_have_text("1")
    expect(page.get_by_test_id("console-error")).to_be_hidden()

    stack.start_worker()  # runs whatever is queued from now on, with the real handler
    row.get_by_test_id("retry").click()

    action = page.get_by_test_id("action").first
    expect(action).to_contain_text(f"Retried {job_id[:8]} as job")
    expect(action).to_have_attribute("data-state", "completed", timeout=SETTLE_MS)
    expect(row.get_by_test_id("retried-as")).to_be_visible()
    new_id = action.get_attribute("data-job-id")
    assert new_id and new_id != job_id

    ops = {"Authorization": f"Bearer {operator_token()}"}
    new = httpx.get(f"{stack.url}/api/admin/jobs/{new_id}", headers=ops, timeout=30).json()
    assert (new["status"], new["retry_of"], new["owner"]) == ("completed", job_id, "alice")
    old = httpx.get(f"{stack.url}{P}/jobs/{job_id}/status", headers=stack.headers("alice"),
                    timeout=30).json()
    assert old["status"] == "failed"  # the old job's answer stands
    assert page_errors(page) == [] and page.problems.dialogs == []
    page.screenshot(path=str(artifacts / "admin-console.png"), full_page=True)


def test_history_charts_draw_the_archived_jobs(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    failed_job(stack, tmp_path)
    stack.start_worker()  # its archiver creates the history schema and archives the job
    ops = {"Authorization": f"Bearer {operator_token()}"}
    deadline = time.monotonic() + SETTLE_MS / 1000
    while True:
        r = httpx.get(f"{stack.url}/api/admin/stats", headers=ops, timeout=30)
        if r.status_code == 200 and r.json()["total"]["jobs"] >= 1:
            break
        assert time.monotonic() < deadline, f"the failed job never reached history: {r.text}"
        time.sleep(0.2)

    open_console(page, stack, operator_token())
    expect(page.get_by_test_id("history-state")).to_have_attribute("data-state", "ready")
    failed_bars = page.get_by_test_id("chart-jobs").locator("rect.bar.failed")
    expect(failed_bars).to_have_count(1)
    assert "1 failed" in (failed_bars.first.locator("title").text_content() or "")
    expect(page.get_by_test_id("chart-failures").locator("circle")).to_have_count(1)
    assert page_errors(page) == []


def test_a_user_token_gets_no_console(page: Any, stack: Stack, tmp_path: Path) -> None:
    failed_job(stack, tmp_path)  # there is data it must not see
    open_console(page, stack, stack.token("alice"))

    error = page.get_by_test_id("console-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Forbidden (403)")
    expect(error).to_contain_text("not an operator's")
    expect(error).to_contain_text("jobgate:admin")
    expect(page.get_by_test_id("dashboard")).to_be_hidden()
    assert page.locator("[data-testid$='-job'], [data-testid=worker-row]").count() == 0
    assert "alice" not in (page.locator("main").text_content() or "")
    seen = len(admin_requests(page))
    page.wait_for_timeout(2500)  # longer than a poll round: no further requests go out
    assert len(admin_requests(page)) == seen
    assert page.problems.errors == []


def test_without_a_token_the_console_asks_for_one(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/admin")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("token-state")).to_contain_text("Paste an operator token")
    expect(page.get_by_test_id("dashboard")).to_be_hidden()
    assert admin_requests(page) == []

    page.get_by_test_id("token").fill("not-a-valid-token")
    page.get_by_test_id("token-save").click()
    error = page.get_by_test_id("console-error")
    expect(error).to_contain_text("Not signed in (401)")
    expect(page.get_by_test_id("dashboard")).to_be_hidden()
