"""Cross-origin calls in real Chromium: a page served from one origin (a tiny
static server on its own port) calls a real `jobgate up` on another, with
credentials: a bearer token (preflighted) and the app's session cookie.
The listed origin works and reads the exposed headers; an unlisted one is
blocked by the browser, and its preflighted request never reaches the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jobgate.api.auth import mint_token
from tests.api.auth_fakes import FakeServer, Seen, SessionApp
from tests.browser.conftest import Server, StartServer

pytestmark = pytest.mark.browser

SECRET = "browser-cors-secret-0123456789-abcdef"
PAGE = b"<!doctype html><html><head><title>the app</title></head><body>app</body></html>"

SUBMIT_JS = """async ({api, token}) => {
  try {
    const r = await fetch(api + "/api/multi-agent/submit", {
      method: "POST", credentials: "include",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
      body: JSON.stringify({request: {query: "from another origin"}}),
    });
    const body = await r.json();
    return {status: r.status, jobId: body.job_id, location: r.headers.get("Location"),
            retryAfter: r.headers.get("Retry-After")};
  } catch (e) { return {error: String(e)}; }
}"""

LIST_JS = """async ({api, credentials}) => {
  try {
    const r = await fetch(api + "/api/multi-agent/jobs", {credentials});
    return {status: r.status, body: await r.json()};
  } catch (e) { return {error: String(e)}; }
}"""


def _page(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "text/html; charset=utf-8"}, PAGE


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[FakeServer, FakeServer]]:
    listed, unlisted = FakeServer(_page).start(), FakeServer(_page).start()
    yield listed, unlisted
    listed.stop()
    unlisted.stop()


@pytest.fixture(scope="module")
def session_app() -> Iterator[SessionApp]:
    app = SessionApp()
    app.server.start()
    yield app
    app.server.stop()


@pytest.fixture(scope="module")
def api(start_server: StartServer, sites: tuple[FakeServer, FakeServer],
        session_app: SessionApp) -> Server:
    return start_server(
        JOBGATE_AUTH_SECRET=SECRET,
        JOBGATE_CORS_ORIGINS=sites[0].url,
        JOBGATE_AUTH_INTROSPECT_URL=session_app.me_url,
        JOBGATE_AUTH_FORWARD_COOKIES="session_token",
    )


def _jobs_of(api: Server, sub: str) -> list[str]:
    resp = httpx.get(f"{api.url}/api/multi-agent/jobs", timeout=30,
                     headers={"Authorization": f"Bearer {mint_token(SECRET, sub)}"})
    return [j["job_id"] for j in resp.json()["jobs"]]


def test_a_listed_origin_submits_with_a_bearer_token(
    page: Any, api: Server, sites: tuple[FakeServer, FakeServer]
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    page.goto(f"{sites[0].url}/app.html")
    out = page.evaluate(SUBMIT_JS, {"api": api.url, "token": mint_token(SECRET, user)})
    assert out.get("status") == 202, out
    assert out["location"].endswith(f"/jobs/{out['jobId']}/status")  # exposed to the script
    assert out["retryAfter"]
    assert _jobs_of(api, user) == [out["jobId"]]


def test_an_unlisted_origin_is_blocked_before_anything_happens(
    page: Any, api: Server, sites: tuple[FakeServer, FakeServer]
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    page.goto(f"{sites[1].url}/app.html")
    out = page.evaluate(SUBMIT_JS, {"api": api.url, "token": mint_token(SECRET, user)})
    assert "Failed to fetch" in out.get("error", ""), out
    assert _jobs_of(api, user) == [], "the preflight failed, so the POST was never sent"


def test_the_apps_session_cookie_signs_in_from_the_listed_origin_only(
    page: Any, api: Server, sites: tuple[FakeServer, FakeServer], session_app: SessionApp
) -> None:
    user = f"app-{uuid.uuid4().hex[:8]}"
    session = session_app.login(user)
    page.context.add_cookies([{"name": "session_token", "value": session, "url": api.url}])
    job = httpx.post(f"{api.url}/api/multi-agent/submit", timeout=30,
                     headers={"Authorization": f"Bearer {session}"},
                     json={"request": {"query": "mine"}}).json()["job_id"]

    page.goto(f"{sites[0].url}/app.html")
    listed = page.evaluate(LIST_JS, {"api": api.url, "credentials": "include"})
    assert listed.get("status") == 200, listed
    assert [j["job_id"] for j in listed["body"]["jobs"]] == [job]
    without = page.evaluate(LIST_JS, {"api": api.url, "credentials": "omit"})
    assert without.get("status") == 401, "the cookie is what signed the page in"

    page.goto(f"{sites[1].url}/app.html")
    unlisted = page.evaluate(LIST_JS, {"api": api.url, "credentials": "include"})
    assert "Failed to fetch" in unlisted.get("error", ""), unlisted
