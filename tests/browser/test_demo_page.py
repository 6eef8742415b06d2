"""The demo page in headless Chromium against a real `jobgate up`.

Each test drives the page the way a person would: type an idea, press the
button, watch. With JOBGATE_SIM_STEP_S=0.3 a sequential job takes a few
seconds, long enough to see it move and short enough to wait for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from jobgate.embedded import EmbeddedValkey
from tests.browser.conftest import Server, ServerExited, StartServer
from tests.server import Stack

pytestmark = pytest.mark.browser

ALL_AGENTS = {
    "research",
    "analysis",
    "ideation",
    "strategy",
    "validation",
    "prd_authoring",
    "summary",
}
JOB_TIMEOUT_S = 60
HOSTILE = "</script><script>window.__pwned=1;alert(1)</script>\";window.__pwned=2;//'"


@dataclass
class Watch:
    """What the page showed while a job ran, sampled every few ms."""

    progress: list[int] = field(default_factory=list)
    output_counts: list[int] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    times_left: list[str] = field(default_factory=list)


def api_paths(page: Any) -> list[str]:
    """Paths of the API requests the page has made so far, in order."""
    return [urlsplit(u).path for u in page.requests if "/api/multi-agent/" in u]


def open_demo(page: Any, server: Server | Stack) -> None:
    page.goto(server.url + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def submit(page: Any, query: str, mode: str = "sequential") -> None:
    page.get_by_test_id("query").fill(query)
    page.get_by_test_id("mode").select_option(mode)
    page.get_by_test_id("submit").click()


def watch_until_settled(page: Any, timeout_s: float = JOB_TIMEOUT_S) -> Watch:
    """Samples the progress panel until the job reaches a final state."""
    seen = Watch()
    state = page.get_by_test_id("job-state")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.progress.append(
            int(page.get_by_test_id("progress-bar").get_attribute("aria-valuenow"))
        )
        seen.output_counts.append(page.get_by_test_id("agent-output").count())
        seen.steps.append(page.get_by_test_id("current-step").text_content() or "")
        seen.times_left.append(page.get_by_test_id("time-left").text_content() or "")
        if state.get_attribute("data-state") in {"completed", "failed", "cancelled", "error"}:
            return seen
        page.wait_for_timeout(40)
    raise AssertionError(
        f"job did not settle within {timeout_s} s; last state {state.text_content()!r}"
    )


def assert_no_problems(page: Any) -> None:
    assert page.problems.errors == [], page.problems.errors
    assert page.problems.dialogs == [], page.problems.dialogs
    assert page.problems.console == [], (page.problems.console, page.problems.responses)


def test_runs_a_job_and_shows_it_live(page: Any, server: Server, artifacts: Any) -> None:
    open_demo(page, server)
    # `jobgate up` serves a demo token, so the page asks for none.
    expect(page.get_by_test_id("token")).to_be_hidden()

    submit(page, "A marketplace for renting camping gear between neighbours")
    seen = watch_until_settled(page)

    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")
    # The bar moved through intermediate values, never backwards, and ended full.
    middle = {p for p in seen.progress if 0 < p < 100}
    assert len(middle) >= 2, seen.progress
    assert seen.progress == sorted(seen.progress), seen.progress
    expect(page.get_by_test_id("progress-bar")).to_have_attribute("aria-valuenow", "100")
    # Agent outputs appeared one by one while the job ran, not all at the end.
    assert any(0 < n < len(ALL_AGENTS) for n in seen.output_counts), seen.output_counts
    assert any(s.strip() for s in seen.steps), "no current step was ever shown"
    assert any("left" in t for t in seen.times_left), seen.times_left
    outputs = page.get_by_test_id("agent-output")
    expect(outputs).to_have_count(len(ALL_AGENTS))
    assert {
        outputs.nth(i).get_attribute("data-agent") for i in range(len(ALL_AGENTS))
    } == ALL_AGENTS
    # The final response, readable.
    expect(page.get_by_test_id("result")).to_be_visible()
    expect(page.get_by_test_id("result-main")).not_to_be_empty()
    expect(page.get_by_test_id("interactions").locator("details")).not_to_have_count(0)
    expect(page.get_by_test_id("error")).to_be_hidden()
    expect(page.get_by_test_id("cancel")).to_be_disabled()
    # It followed the event stream; a status poll would mean the stream was refused.
    paths = api_paths(page)
    assert any(p.endswith("/events") for p in paths), paths
    assert not any(p.endswith("/status") for p in paths), paths
    assert_no_problems(page)

    page.wait_for_timeout(400)  # let the bar's CSS transition finish for the picture
    page.screenshot(path=str(artifacts / "demo-finished.png"), full_page=True)


def test_cancels_a_running_job(page: Any, server: Server) -> None:
    open_demo(page, server)
    submit(page, "A subscription box for houseplants", mode="sequential")
    expect(page.get_by_test_id("agent-output")).not_to_have_count(0)
    job_id = page.get_by_test_id("job-id").text_content()
    assert job_id

    page.get_by_test_id("cancel").click()

    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "cancelled")
    expect(page.get_by_test_id("error")).to_have_text("The job was cancelled.")
    expect(page.get_by_test_id("result")).to_be_hidden()
    assert page.get_by_test_id("agent-output").count() < len(ALL_AGENTS)
    expect(page.get_by_test_id("submit")).to_be_enabled()
    # The server agrees: the job itself was cancelled, not just our view of it.
    token = page.evaluate("window.__JOBGATE_TOKEN__")
    status = httpx.get(
        f"{server.url}/api/multi-agent/jobs/{job_id}/status",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert status["status"] == "cancelled", status
    assert_no_problems(page)

    # The page is ready for the next job.
    submit(page, "A second idea after the cancelled one")
    watch_until_settled(page)
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")


def test_hostile_poll_interval_is_refused_or_inert(start_server: StartServer, page: Any) -> None:
    """A config value that tries to end the script and run its own must do neither."""
    try:
        server = start_server(JOB_POLL_INTERVAL_MS=HOSTILE)
    except ServerExited as refused:
        # Refusing to start over a bad setting is a fine answer, if it says which one.
        assert refused.returncode != 0
        assert "JOB_POLL_INTERVAL_MS" in refused.output
        return
    config = server.config_js()
    assert "<script" not in config.lower() and "</script" not in config.lower(), config
    open_demo(page, server)
    assert page.evaluate("window.__pwned") is None
    # Whatever the server made of it, the client polls at a sane pace.
    interval = page.evaluate("window.__JOB_POLL_INTERVAL_MS__")
    assert (isinstance(interval, int | float) and interval > 0) or interval == HOSTILE, interval

    submit(page, "An app that survives bad configuration")
    watch_until_settled(page)
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")
    assert page.evaluate("window.__pwned") is None
    assert_no_problems(page)


def test_hostile_api_url_is_encoded_as_data(start_server: StartServer, page: Any) -> None:
    """A string setting arrives in the page as the same string, never as code."""
    server = start_server(API_URL=HOSTILE)
    open_demo(page, server)

    assert page.evaluate("window.__API_URL__") == HOSTILE
    assert page.evaluate("window.__pwned") is None
    expect(page.get_by_test_id("job-form")).to_be_visible()
    assert_no_problems(page)


def test_resumes_the_event_stream_without_loss_or_duplicates(
    start_server: StartServer, page: Any
) -> None:
    """The server hangs up every second, as a proxy would; the page resumes after its last event."""
    server = start_server(JOBGATE_SSE_MAX_CONNECTION_S="1")
    open_demo(page, server)
    submit(page, "A job that outlives its connections")
    watch_until_settled(page)

    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")
    outputs = page.get_by_test_id("agent-output")
    expect(outputs).to_have_count(len(ALL_AGENTS))
    agents = [outputs.nth(i).get_attribute("data-agent") for i in range(len(ALL_AGENTS))]
    assert sorted(agents) == sorted(ALL_AGENTS), agents
    connects = [r for r in page.event_requests if r["path"].endswith("/events")]
    assert len(connects) >= 2, connects
    assert connects[0]["last_event_id"] is None
    assert all(c["last_event_id"] for c in connects[1:]), connects
    assert_no_problems(page)


def test_failed_job_is_reported_at_once_in_words(start_server: StartServer, page: Any) -> None:
    """The old helper spun for minutes after a failure; this page shows the
    server's own `error` text ("Job failed: …") right away."""
    server = start_server(
        JOBGATE_LLM_BACKEND="openai",
        JOBGATE_LLM_BASE_URL="http://127.0.0.1:9",  # discard port: nothing listens
        JOBGATE_LLM_API_KEY="test-key",
        JOBGATE_MAX_ATTEMPTS="1",
    )
    open_demo(page, server)
    started = time.monotonic()
    submit(page, "An idea the model never sees")
    watch_until_settled(page)

    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "failed")
    assert time.monotonic() - started < 30
    job_id = page.get_by_test_id("job-id").text_content()
    token = page.evaluate("window.__JOBGATE_TOKEN__")
    body = httpx.get(
        f"{server.url}/api/multi-agent/jobs/{job_id}/result",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert body["status"] == "failed" and body["error"].startswith("Job failed: "), body
    assert body["error_detail"] and body["error_code"], body
    expect(page.get_by_test_id("error")).to_have_text(body["error"])
    expect(page.get_by_test_id("result")).to_be_hidden()
    expect(page.get_by_test_id("submit")).to_be_enabled()
    assert page.problems.errors == [] and page.problems.dialogs == []


def test_invalid_request_is_explained(page: Any, server: Server) -> None:
    """A 422 comes back as the server's reason, not as a spinner."""
    open_demo(page, server)
    for agent in ALL_AGENTS - {"research"}:
        page.locator(f"#agent-{agent}").uncheck()
    submit(page, "A debate with only one debater", mode="debate")

    expect(page.get_by_test_id("error")).to_contain_text("The server rejected the request")
    expect(page.get_by_test_id("error")).to_contain_text("two supporting agents")
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("submit")).to_be_enabled()


@pytest.fixture
def tokenless(valkey: EmbeddedValkey, namespace: str, tmp_path: Path) -> Iterator[Stack]:
    """`jobgate api` and a worker, as deployed behind a network address: its
    /config.js carries no demo token, so the page must get one from the user."""
    stack = Stack(valkey.url, namespace, tmp_path / "stack",
                  extra_env={"JOBGATE_SIM_STEP_S": "0.3"})
    try:
        stack.start_api()
        stack.start_worker()
        yield stack
    finally:
        stack.stop()


def token_state(page: Any) -> str:
    return page.get_by_test_id("token-state").text_content() or ""


def stored_tokens(page: Any) -> tuple[str | None, str | None]:
    """The token as sessionStorage and as localStorage hold it."""
    session, local = page.evaluate(
        "[sessionStorage.getItem('jobgate.token'), localStorage.getItem('jobgate.token')]"
    )
    return session, local


def test_without_a_demo_token_the_page_asks_for_one_and_keeps_it_for_the_tab(
    page: Any, tokenless: Stack
) -> None:
    config = httpx.get(f"{tokenless.url}/config.js", timeout=10).text
    assert "__JOBGATE_TOKEN__" not in config, config
    open_demo(page, tokenless)
    # A copy an earlier version of the page left in localStorage is removed.
    page.evaluate("localStorage.setItem('jobgate.token', 'left by an old page')")
    open_demo(page, tokenless)
    assert stored_tokens(page) == (None, None)

    expect(page.get_by_test_id("token-form")).to_be_visible()
    assert "No token" in token_state(page)
    expect(page.get_by_test_id("token-clear")).to_be_disabled()

    # Without a token nothing is sent; the page asks for one.
    submit(page, "An idea before any token")
    expect(page.get_by_test_id("error")).to_contain_text("Paste an API token")
    expect(page.get_by_test_id("token")).to_be_focused()
    assert api_paths(page) == []

    # A token the server does not accept: said in words, nothing kept running.
    page.get_by_test_id("token").fill("not-a-real-token")
    page.get_by_test_id("token-save").click()
    submit(page, "An idea with a wrong token")
    expect(page.get_by_test_id("error")).to_contain_text("did not accept the token")
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "error")

    # The right one, pasted as a header value; kept in sessionStorage only.
    token = tokenless.token("carol")
    page.get_by_test_id("token").fill(f"Bearer {token}")
    page.get_by_test_id("token").press("Enter")
    expect(page.get_by_test_id("token-state")).to_contain_text(f"…{token[-4:]}")
    expect(page.get_by_test_id("token")).to_have_value("")
    assert stored_tokens(page) == (token, None)

    submit(page, "An idea with a pasted token")
    watch_until_settled(page)
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")
    expect(page.get_by_test_id("agent-output")).to_have_count(len(ALL_AGENTS))
    job_id = page.get_by_test_id("job-id").text_content()
    # The job is carol's: the page sent her token.
    mine = httpx.get(f"{tokenless.url}/api/multi-agent/jobs", timeout=10,
                     headers=tokenless.headers("carol")).json()
    assert [j["job_id"] for j in mine["jobs"]] == [job_id]

    # It lasts as long as the tab: a reload keeps it ...
    open_demo(page, tokenless)
    assert f"…{token[-4:]}" in token_state(page)
    # ... a change replaces it ...
    other = tokenless.token("dave")
    page.get_by_test_id("token").fill(other)
    page.get_by_test_id("token-save").click()
    assert stored_tokens(page) == (other, None)
    # ... and Clear forgets it.
    page.get_by_test_id("token-clear").click()
    assert stored_tokens(page) == (None, None)
    assert "No token" in token_state(page)
    expect(page.get_by_test_id("token-clear")).to_be_disabled()

    assert page.problems.errors == [] and page.problems.dialogs == []
    # Only the wrong token's 401 may show in the console; no policy was broken.
    assert all("401" in m or "Unauthorized" in m for m in page.problems.console), (
        page.problems.console
    )


def test_a_new_tab_starts_without_the_token(browser: Any, tokenless: Stack) -> None:
    """sessionStorage is the tab's: another tab of the same browser asks again."""
    context = browser.new_context()
    try:
        first = context.new_page()
        open_demo(first, tokenless)
        token = tokenless.token()
        first.get_by_test_id("token").fill(token)
        first.get_by_test_id("token-save").click()
        assert stored_tokens(first)[0] == token
        second = context.new_page()
        open_demo(second, tokenless)
        assert stored_tokens(second) == (None, None)
        assert "No token" in token_state(second)
    finally:
        context.close()


def test_specialists_join_only_when_chosen(page: Any, server: Server) -> None:
    """The app's whole roster is on the form; the specialists start unticked."""
    open_demo(page, server)
    specialists = page.get_by_test_id("specialists").locator("input")
    expect(specialists).to_have_count(6)
    assert not any(specialists.nth(i).is_checked() for i in range(6))
    page.locator("#agent-scoring").check()
    page.locator("#agent-rag").check()
    submit(page, "A tool library for a street of neighbours")
    watch_until_settled(page)

    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "completed")
    outputs = page.get_by_test_id("agent-output")
    expect(outputs).to_have_count(len(ALL_AGENTS) + 2)
    agents = {outputs.nth(i).get_attribute("data-agent") for i in range(len(ALL_AGENTS) + 2)}
    assert agents == ALL_AGENTS | {"scoring", "rag"}
    expect(page.locator('[data-agent="rag"] h3')).to_contain_text("RAG step")
    assert_no_problems(page)
