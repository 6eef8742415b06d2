"""The app's own opaque sessions, checked against a real local "who am I"
endpoint modelled on the app's; then through a real `jobgate api`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from jobgate.api.auth import ADMIN_SCOPE, Credential, mint_token
from jobgate.api.auth.introspect import IntrospectMethod
from jobgate.embedded import EmbeddedValkey
from jobgate.errors import AuthError, AuthUnavailable
from tests.api.auth_fakes import Clock, SessionApp
from tests.server import SECRET, Stack

PREFIX = "/api/multi-agent"


@pytest.fixture
def app() -> Iterator[SessionApp]:
    session_app = SessionApp()
    session_app.server.start()
    yield session_app
    session_app.server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2) as client:
        yield client


def method_for(app: SessionApp, http: httpx.AsyncClient, clock: Clock,
               cache_s: float = 60) -> IntrospectMethod:
    return IntrospectMethod(app.me_url, lambda: http, forward_cookies=["session_token"],
                            cache_s=cache_s, clock=clock)


async def test_a_session_as_bearer_or_cookie_names_its_user(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock
) -> None:
    method = method_for(app, http, clock)
    session = app.login("u-1")
    by_bearer = await method.authenticate(Credential(f"Bearer {session}"))
    cookies = {"session_token": app.login("u-2"), "tracking": "do-not-forward"}
    by_cookie = await method.authenticate(Credential(cookies=cookies))
    assert (by_bearer.user_id, by_cookie.user_id) == ("u-1", "u-2")
    assert not by_bearer.is_admin
    forwarded = app.server.seen[-1].headers
    assert forwarded["cookie"] == f"session_token={cookies['session_token']}"
    assert "authorization" not in forwarded
    admin = await method.authenticate(Credential(f"Bearer {app.login('ops', scope=ADMIN_SCOPE)}"))
    assert admin.is_admin


async def test_a_revoked_or_unknown_session_is_401(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock
) -> None:
    method = method_for(app, http, clock)
    session = app.login("u-1")
    app.revoke(session)
    for cred in (Credential(f"Bearer {session}"), Credential(cookies={"session_token": session}),
                 Credential("Bearer never-issued")):
        with pytest.raises(AuthError, match="session not valid"):
            await method.authenticate(cred)


async def test_answers_are_cached_yes_and_no(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock
) -> None:
    method = method_for(app, http, clock, cache_s=60)
    good, bad = Credential(f"Bearer {app.login('u-1')}"), Credential("Bearer never-issued")
    for _ in range(5):
        assert (await method.authenticate(good)).user_id == "u-1"
        with pytest.raises(AuthError):
            await method.authenticate(bad)
    assert app.server.hits == 2
    clock.now += 59.9
    await method.authenticate(good)
    assert app.server.hits == 2
    clock.now += 0.1  # 60 s after the answer: ask again
    await method.authenticate(good)
    assert app.server.hits == 3
    assert all(good.authorization not in key for key in method.cache._entries)


async def test_no_cache_when_cache_s_is_zero(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock
) -> None:
    method = method_for(app, http, clock, cache_s=0)
    session = app.login("u-1")
    await method.authenticate(Credential(f"Bearer {session}"))
    app.revoke(session)  # seen at once without a cache
    with pytest.raises(AuthError):
        await method.authenticate(Credential(f"Bearer {session}"))
    assert app.server.hits == 2


@pytest.mark.parametrize("status", [500, 502, 503, 429, 404, 302])
async def test_an_app_that_does_not_answer_is_503_and_not_cached(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock, status: int
) -> None:
    method = method_for(app, http, clock)
    session = app.login("u-1")
    app.status_override = status
    with pytest.raises(AuthUnavailable):
        await method.authenticate(Credential(f"Bearer {session}"))
    app.status_override = None
    assert (await method.authenticate(Credential(f"Bearer {session}"))).user_id == "u-1"


async def test_an_unreachable_or_silent_app_is_503(
    app: SessionApp, http: httpx.AsyncClient, clock: Clock
) -> None:
    session = app.login("u-1")
    app.server.gate.clear()  # the app takes the request and never answers
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        silent = IntrospectMethod(app.me_url, lambda: impatient, clock=clock)
        with pytest.raises(AuthUnavailable):
            await silent.authenticate(Credential(f"Bearer {session}"))
    app.server.gate.set()
    gone = SessionApp()
    gone_url = gone.me_url  # a port nobody listens on any more
    gone.server.stop()
    refused = IntrospectMethod(gone_url, lambda: http, clock=clock)
    with pytest.raises(AuthUnavailable):
        await refused.authenticate(Credential(f"Bearer {session}"))


# --- through a real `jobgate api` ---------------------------------------------


@pytest.fixture(scope="module")
def app_stack(valkey: EmbeddedValkey,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, SessionApp]]:
    session_app = SessionApp()
    session_app.server.start()
    stack = Stack(valkey.url, f"intro-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("intro"),
                  extra_env={
                      "JOBGATE_AUTH_INTROSPECT_URL": session_app.me_url,
                      "JOBGATE_AUTH_FORWARD_COOKIES": "session_token",
                      "JOBGATE_AUTH_TIMEOUT_S": "2",
                  })
    stack.start_api()
    yield stack, session_app
    stack.stop()
    session_app.server.stop()


def test_the_apps_sessions_work_against_the_api(app_stack: tuple[Stack, SessionApp]) -> None:
    stack, app = app_stack
    user = f"app-user-{uuid.uuid4().hex[:6]}"
    session = app.login(user)
    with httpx.Client(base_url=stack.url, timeout=30) as c:
        sub = c.post(f"{PREFIX}/submit", headers={"Authorization": f"Bearer {session}"},
                     json={"request": {"query": "q", "user_id": "mallory"}})
        assert sub.status_code == 202, sub.text
        job_id = sub.json()["job_id"]
        c.cookies.set("session_token", session)
        for _ in range(5):
            listing = c.get(f"{PREFIX}/jobs")
            assert listing.status_code == 200, listing.text
            assert [j["job_id"] for j in listing.json()["jobs"]] == [job_id]
        c.cookies.clear()
    assert sum(s.path == "/api/auth/me" for s in app.server.seen
               if session in str(s.headers)) == 2, "one answer per credential, then the cache"


def test_hs256_still_decides_before_introspection(app_stack: tuple[Stack, SessionApp]) -> None:
    stack, app = app_stack
    before = app.server.hits
    ok = httpx.get(f"{stack.url}{PREFIX}/jobs", timeout=30,
                   headers={"Authorization": f"Bearer {mint_token(SECRET, 'hs-user')}"})
    forged = httpx.get(f"{stack.url}{PREFIX}/jobs", timeout=30,
                       headers={"Authorization": f"Bearer {mint_token('x' * 40, 'hs-user')}"})
    assert (ok.status_code, forged.status_code) == (200, 401)
    assert app.server.hits == before, "a JWT is never sent to the app"


def test_revoked_is_401_and_an_app_outage_is_503(app_stack: tuple[Stack, SessionApp]) -> None:
    stack, app = app_stack
    revoked = app.login("gone")
    app.revoke(revoked)
    with httpx.Client(base_url=stack.url, timeout=30) as c:
        resp = c.get(f"{PREFIX}/jobs", headers={"Authorization": f"Bearer {revoked}"})
        assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
        c.cookies.set("session_token", app.login("someone"))
        app.status_override = 502
        try:
            resp = c.get(f"{PREFIX}/jobs")
        finally:
            app.status_override = None
        assert resp.status_code == 503, resp.text
        assert resp.json()["code"] == "auth_unavailable"
        assert resp.headers["retry-after"]
        assert c.get(f"{PREFIX}/jobs").status_code == 200, "the outage was not cached"
