"""Cookie sign-in on the WebSocket, and cross-site WebSocket hijacking.

The API signs in the app's own sessions (introspection against a local
"who am I" server that speaks the app's protocol). A browser sends the
user's cookies with any page's WebSocket; the server takes them only from
the API's own origin or a listed one, never from another site's page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from jobgate.embedded import EmbeddedValkey
from tests.api.auth_fakes import SessionApp
from tests.api.feeds import open_ws, recv, send
from tests.server import Stack

LISTED = "https://app.example.test"


@pytest.fixture(scope="module")
def app() -> Iterator[SessionApp]:
    session_app = SessionApp()
    session_app.server.start()
    yield session_app
    session_app.server.stop()


@pytest.fixture(scope="module")
def stack(valkey: EmbeddedValkey, app: SessionApp,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(valkey.url, f"wsc-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("wsc"),
              extra_env={"JOBGATE_AUTH_INTROSPECT_URL": app.me_url,
                         "JOBGATE_AUTH_FORWARD_COOKIES": "session_token",
                         "JOBGATE_CORS_ORIGINS": LISTED, "JOBGATE_WS_AUTH_TIMEOUT_S": "1"})
    s.start_api()
    yield s
    s.stop()


async def _signed_in(ws: object) -> bool:
    """Whether the socket answers a command (signed in) or is closed 4401."""
    try:  # the server may have closed it before the probe goes out
        await send(ws, type="unsubscribe", job_id="probe")  # type: ignore[arg-type]
        return (await recv(ws))["type"] == "ack"  # type: ignore[arg-type]
    except ConnectionClosed:
        assert ws.close_code == 4401  # type: ignore[attr-defined]
        return False


@pytest.mark.parametrize(("origin", "signed_in"), [
    (None, True),  # not a browser: nobody else's page
    (LISTED, True),
    ("same", True),  # the API's own origin
    ("https://evil.example", False),
    ("null", False),  # a sandboxed frame or a file
    (LISTED + ".evil.example", False),
])
async def test_cookies_sign_in_only_from_the_apis_own_or_a_listed_origin(
    stack: Stack, app: SessionApp, origin: str | None, signed_in: bool
) -> None:
    session = app.login(f"u-{uuid.uuid4().hex[:6]}")
    headers = {"Cookie": f"session_token={session}; theme=dark"}
    if origin is not None:
        headers["Origin"] = stack.url if origin == "same" else origin
    async with open_ws(stack.url, headers) as ws:
        assert await _signed_in(ws) is signed_in


async def test_a_foreign_page_signs_in_with_a_token_it_holds(
    stack: Stack, app: SessionApp
) -> None:
    """Its cookies are ignored, so it is asked for the first-message sign-in."""
    session = app.login("u-token-holder")
    headers = {"Cookie": "session_token=someone-elses", "Origin": "https://elsewhere.example"}
    async with open_ws(stack.url, headers) as ws:
        await send(ws, type="auth", token=session)
        assert await recv(ws) == {"type": "ack", "op": "auth"}
        assert await _signed_in(ws)


async def test_a_revoked_session_cookie_is_4401(stack: Stack, app: SessionApp) -> None:
    session = app.login("u-revoked")
    app.revoke(session)
    async with open_ws(stack.url, {"Cookie": f"session_token={session}",
                                   "Origin": LISTED}) as ws:
        assert not await _signed_in(ws)
        assert ws.close_code == 4401
