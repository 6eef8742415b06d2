"""The demo page's "My jobs" panel in headless Chromium against real servers.

Issue 17: a page that follows many jobs needs one connection for all of
them. Here the page follows ten concurrent jobs on one WebSocket, and the
same page, following ten jobs with an event stream each over HTTP/1.1, gets
six: Chromium opens at most six connections per origin and the other four
wait until one ends.

Jobs hold still without timing: `jobgate api` runs alone, so submitted jobs
stay pending until the test starts a worker, and that worker's agent calls
wait at an LLM gate (tests/llm_gate.py) until the test opens it. A stalled
stream is released only by ending another (the test cancels its job).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from jobgate.embedded import EmbeddedValkey
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.llm_gate import LLMGate
from tests.server import Stack

pytestmark = pytest.mark.browser

P = "/api/multi-agent"
N = 10
CHROMIUM_PER_ORIGIN = 6  # Chromium's HTTP/1.1 connections per origin (its pool's group limit)
WAIT_S = 60.0
SLOW_MS = WAIT_S * 1000  # for what waits on servers and workers (a shared, loaded machine)


@pytest.fixture
def gate() -> Iterator[LLMGate]:
    g = LLMGate().start()
    yield g
    g.close()


@pytest.fixture
def stack(valkey: EmbeddedValkey, namespace: str, tmp_path: Path, gate: LLMGate) -> Iterator[Stack]:
    """`jobgate api` alone; a worker (its agents behind the gate) only when a test starts one.
    Event streams are not cut at a connection cap: one held open stays open."""
    env = {**gate.env(), "JOBGATE_SSE_MAX_CONNECTION_S": "3600"}
    s = Stack(valkey.url, namespace, tmp_path / "stack", extra_env=env)
    try:
        s.start_api()
        yield s
    finally:
        s.stop()


def until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def submit_jobs(stack: Stack, n: int, sub: str = "alice") -> list[str]:
    tag = uuid.uuid4().hex[:8]
    ids = []
    with httpx.Client(base_url=stack.url, headers=stack.headers(sub), timeout=30) as c:
        for i in range(n):
            request = {"query": f"my-jobs {tag} idea {i}", "coordination_mode": "sequential"}
            r = c.post(f"{P}/submit", json={"request": request})
            assert r.status_code == 202, r.text
            ids.append(r.json()["job_id"])
    return ids


def cancel(stack: Stack, job_id: str) -> None:
    r = httpx.post(f"{stack.url}{P}/jobs/{job_id}/cancel", headers=stack.headers(), timeout=30)
    assert r.status_code in (200, 202), r.text


def waiting_clients(stack: Stack, channel: str) -> float:
    """The API's own gauge of the clients it holds open (SSE streams, sockets)."""
    for line in httpx.get(f"{stack.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f'jobgate_waiting_clients{{channel="{channel}"}}'):
            return float(line.split()[-1])
    return 0.0


def open_signed_in(page: Any, stack: Stack, sub: str = "alice") -> None:
    """The demo page of a server without a demo token, with `sub`'s token pasted."""
    page.goto(stack.url + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("token").fill(stack.token(sub))
    page.get_by_test_id("token-save").click()


def feed_is(page: Any, state: str) -> None:
    """The panel's connection: connecting, open, reconnecting or closed."""
    expect(page.get_by_test_id("my-jobs-feed")).to_have_attribute("data-state", state,
                                                                  timeout=SLOW_MS)


def rows_in(page: Any, state: str) -> Any:
    return page.locator(f'[data-testid="my-job"][data-state="{state}"]')


def test_my_jobs_follows_ten_concurrent_jobs_on_one_socket(
    page: Any, stack: Stack, gate: LLMGate, artifacts: Path
) -> None:
    sockets: list[Any] = []
    frames: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        sockets.append(ws)
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    open_signed_in(page, stack)
    feed_is(page, "open")
    expect(page.get_by_test_id("my-jobs-empty")).to_be_visible()

    # Submitted elsewhere (another tab, the CLI): they appear as they are queued.
    ids = submit_jobs(stack, N)
    expect(rows_in(page, "pending")).to_have_count(N, timeout=SLOW_MS)

    # All ten running at once, each held at its first agent call.
    stack.start_worker(concurrency=N)
    until(lambda: gate.waiting == N, f"{N} agent calls at the gate")
    expect(rows_in(page, "processing")).to_have_count(N, timeout=SLOW_MS)
    page.screenshot(path=str(artifacts / "my-jobs-running.png"), full_page=True)

    gate.open()
    expect(rows_in(page, "completed")).to_have_count(N, timeout=SLOW_MS)

    for job_id in ids:
        row = page.locator(f'[data-testid="my-job"][data-job-id="{job_id}"]')
        expect(row.get_by_test_id("my-job-state")).to_have_text("Completed")
        expect(row.get_by_test_id("my-job-progress")).to_have_text("100%")
        expect(row.get_by_test_id("my-job-outcome")).to_be_visible()
        expect(row.get_by_test_id("my-job-outcome")).not_to_be_empty()
        expect(row.get_by_test_id("my-job-cancel")).to_be_disabled()

    # One socket carried all ten, from their first event to their result and end.
    assert len(sockets) == 1, [s.url for s in sockets]
    assert sockets[0].url.endswith(f"{P}/ws"), sockets[0].url
    assert "token" not in sockets[0].url
    ended = {f["job_id"] for f in frames
             if f.get("type") == "event" and f.get("event") == "state"
             and f["data"].get("status") == "completed"}
    results = {f["job_id"] for f in frames if f.get("type") == "result"}
    firsts = {f["job_id"] for f in frames if f.get("type") == "event" and f.get("id") == "0-1"}
    assert ended == results == set(ids), (sorted(ended), sorted(results))
    assert firsts >= set(ids), sorted(firsts)
    # No other connection: not one HTTP request to the API (no stream, no poll).
    api = [u for u in page.requests if f"{P}/" in u]
    assert api == [], api
    assert page.problems.errors == [] and page.problems.console == [], page.problems
    page.screenshot(path=str(artifacts / "my-jobs-done.png"), full_page=True)


def test_my_jobs_cancels_a_job_over_the_socket(page: Any, stack: Stack) -> None:
    open_signed_in(page, stack)
    feed_is(page, "open")
    [job_id] = submit_jobs(stack, 1)  # no worker: it stays pending until cancelled
    row = page.locator(f'[data-testid="my-job"][data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-state", "pending", timeout=SLOW_MS)

    row.get_by_test_id("my-job-cancel").click()

    expect(row).to_have_attribute("data-state", "cancelled", timeout=SLOW_MS)
    expect(row.get_by_test_id("my-job-outcome")).to_contain_text("Job cancelled")
    expect(row.get_by_test_id("my-job-cancel")).to_be_disabled()
    status = httpx.get(f"{stack.url}{P}/jobs/{job_id}/status", headers=stack.headers(),
                       timeout=10).json()
    assert status["status"] == "cancelled", status
    assert page.problems.errors == [] and page.problems.console == [], page.problems


def test_my_jobs_shows_a_refused_token_and_only_the_users_jobs(page: Any, stack: Stack) -> None:
    """4401 is shown, not retried; a user's panel never shows another user's job."""
    page.goto(stack.url + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("token").fill("not-a-real-token")
    page.get_by_test_id("token-save").click()
    expect(page.get_by_test_id("my-jobs-feed")).to_contain_text("did not accept the token",
                                                                timeout=SLOW_MS)

    page.get_by_test_id("token").fill(stack.token("alice"))
    page.get_by_test_id("token-save").click()
    feed_is(page, "open")
    [bobs] = submit_jobs(stack, 1, sub="bob")
    [alices] = submit_jobs(stack, 1, sub="alice")
    expect(page.get_by_test_id("my-job")).to_have_count(1, timeout=SLOW_MS)
    expect(page.get_by_test_id("my-job")).to_have_attribute("data-job-id", alices)
    assert bobs not in (page.get_by_test_id("my-jobs-list").text_content() or "")


def event_ids(stack: Stack, job_id: str) -> list[str]:
    """The ids of the job's whole event log, read from its own SSE stream."""
    ids = []
    with httpx.stream("GET", f"{stack.url}{P}/jobs/{job_id}/events", headers=stack.headers(),
                      timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("id:"):
                ids.append(line[3:].strip())
    return ids


def test_my_jobs_resumes_after_the_api_restarts_with_every_event_once(
    page: Any, stack: Stack, gate: LLMGate
) -> None:
    received: list[list[dict[str, Any]]] = []

    def on_socket(ws: Any) -> None:
        frames: list[dict[str, Any]] = []
        received.append(frames)
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    open_signed_in(page, stack)
    feed_is(page, "open")
    ids = submit_jobs(stack, 3)
    stack.start_worker(concurrency=3)
    until(lambda: gate.waiting == 3, "three jobs at the gate")
    gate.allow(3)  # each makes one step of progress, then waits again
    until(lambda: gate.answered == 3 and gate.waiting == 3, "one step each, then held")
    expect(rows_in(page, "processing")).to_have_count(3, timeout=SLOW_MS)

    port = stack.ports[0]
    stack.apis[0].stop()  # SIGTERM: the server closes every socket with 1001
    feed_is(page, "reconnecting")
    stack.start_api(port=port)
    feed_is(page, "open")
    gate.open()
    expect(rows_in(page, "completed")).to_have_count(3, timeout=SLOW_MS)

    assert len(received) >= 2, "the page never reconnected"
    for job_id in ids:
        got = [f["id"] for frames in received for f in frames
               if f.get("type") == "event" and f["job_id"] == job_id]
        # The server may replay after a resume; the page shows each event once (ids in order).
        shown = list(dict.fromkeys(got))
        assert shown == event_ids(stack, job_id), (job_id, got)
    assert page.problems.errors == [], page.problems.errors


def test_process_async_job_over_the_socket_in_chromium(
    page: Any, stack: Stack, gate: LLMGate
) -> None:
    """The bundled client's `transport: "websocket"`: one socket, no stream, no poll."""
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.goto(stack.url + "/")  # no token pasted: the page itself opens no socket
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    gate.open()
    stack.start_worker()
    out = page.evaluate(
        """async ({token}) => {
          const client = await import('/assets/jobgate-client.js');
          const events = [];
          const result = await client.processAsyncJob(
            {query: 'a socket-followed idea', coordination_mode: 'sequential'},
            {token, transport: 'websocket', onEvent: (e) => events.push(e.type)});
          return {result, events};
        }""",
        {"token": stack.token()},
    )
    assert out["result"]["response"] and out["result"]["coordination_mode"] == "sequential", out
    assert out["events"][-1] == "state" and "agent_output" in out["events"], out["events"]
    assert len(sockets) == 1, sockets
    if not sockets[0].is_closed():  # the client hung up once done; the close takes a moment
        sockets[0].wait_for_event("close")
    api = [u.split("?")[0] for u in page.requests if f"{P}/" in u]
    assert [u.removeprefix(stack.url) for u in api] == [f"{P}/submit"], api


# --- ten event streams from one page ------------------------------------------------------

STREAMS_JS = """
async ({ids, token, base}) => {
  const t0 = performance.now();
  window.__streams = ids.map((id) => ({id, headersAt: null, firstAt: null, endAt: null,
                                       terminal: false}));
  window.__streams.forEach((s) => {
    fetch(`${base}/jobs/${s.id}/events`, {
      headers: {Accept: 'text/event-stream', Authorization: `Bearer ${token}`},
    }).then(async (res) => {
      s.headersAt = performance.now() - t0;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        text += decoder.decode(value, {stream: true});
        if (s.firstAt === null && /\\r?\\n\\r?\\n/.test(text)) s.firstAt = performance.now() - t0;
      }
      s.terminal = text.includes('"status": "cancelled"') || text.includes('"status":"cancelled"');
      s.endAt = performance.now() - t0;
    }, (e) => { s.error = String(e); });
  });
  window.__t0 = t0;
}
"""


def streams(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.__streams"))


def opened(page: Any) -> int:
    return int(page.evaluate("window.__streams.filter((s) => s.firstAt !== null).length"))


# The page's CSP forbids eval, so no page.wait_for_function: the test polls with evaluate.
def now_ms(page: Any) -> float:
    return float(page.evaluate("performance.now() - window.__t0"))


def stalled_groups(netlog: Path) -> int:
    """Chromium's own word: how often its socket pool held a request back at the
    per-origin limit (from its net log)."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short still has its constants and most events
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    code = log["constants"]["logEventTypes"]["SOCKET_POOL_STALLED_MAX_SOCKETS_PER_GROUP"]
    return sum(1 for e in log["events"] if e.get("type") == code)


def test_ten_event_streams_from_one_page_stall_at_six(
    browser: Any, stack: Stack, gate: LLMGate, tmp_path: Path, artifacts: Path
) -> None:
    ids = submit_jobs(stack, N)
    stack.start_worker(concurrency=N)
    until(lambda: gate.waiting == N, f"{N} running jobs held at the gate")

    netlog = tmp_path / "netlog.json"
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, f"--log-net-log={netlog}"])
    record: dict[str, Any] = {"jobs": N, "chromium_per_origin": CHROMIUM_PER_ORIGIN}
    try:
        page = chromium.new_page()
        page.goto(stack.url + "/")
        page.evaluate(STREAMS_JS, {"ids": ids, "token": stack.token(), "base": P})

        # Six streams open and get their first event; the server holds six, not ten.
        until(lambda: opened(page) >= CHROMIUM_PER_ORIGIN, "six streams open")
        until(lambda: waiting_clients(stack, "sse") == CHROMIUM_PER_ORIGIN, "six SSE streams")
        before = streams(page)
        stalled = [s["id"] for s in before if s["headersAt"] is None]
        assert len(stalled) == N - CHROMIUM_PER_ORIGIN, before
        assert waiting_clients(stack, "sse") == CHROMIUM_PER_ORIGIN
        record["open_before_release_ms"] = sorted(s["headersAt"] for s in before
                                                  if s["headersAt"] is not None)
        record["stalled_at_ms"] = now_ms(page)

        # Ending a stream (its job cancelled) lets exactly one stalled stream through.
        releases = []
        for k in range(N - CHROMIUM_PER_ORIGIN):
            open_ids = [s["id"] for s in streams(page)
                        if s["headersAt"] is not None and s["endAt"] is None]
            released_at = now_ms(page)
            cancel(stack, open_ids[0])
            want = CHROMIUM_PER_ORIGIN + k + 1
            until(lambda: opened(page) >= want, f"{want} streams open")  # noqa: B023
            after = streams(page)
            new = [s for s in after if s["id"] in stalled and s["headersAt"] is not None
                   and s["id"] not in [r["opened"] for r in releases]]
            assert len(new) == 1, after
            assert new[0]["headersAt"] >= released_at, (new[0], released_at)
            releases.append({"cancelled": open_ids[0], "opened": new[0]["id"],
                             "cancelled_at_ms": released_at,
                             "stalled_stream_opened_at_ms": new[0]["headersAt"]})
            assert len([s for s in after if s["headersAt"] is not None
                        and s["endAt"] is None]) <= CHROMIUM_PER_ORIGIN
        record["releases"] = releases

        for job_id in ids:
            cancel(stack, job_id)  # idempotent for the ones already cancelled
        until(lambda: all(s["endAt"] is not None for s in streams(page)), "every stream ended")
        final = streams(page)
        assert all(s["terminal"] for s in final), final
        record["streams"] = final
    finally:
        chromium.close()

    record["socket_pool_stalled_events"] = stalled_groups(netlog)
    assert record["socket_pool_stalled_events"] >= N - CHROMIUM_PER_ORIGIN, record
    (artifacts / "sse-stall.json").write_text(json.dumps(record, indent=2))
    print("\n10 SSE streams from one page over HTTP/1.1:", json.dumps(
        {k: v for k, v in record.items() if k != "streams"}, indent=1))
