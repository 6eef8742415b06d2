"""Who is on a WebSocket: the upgrade's `Authorization` header, the sign-in
cookie (only from the API's own origin or a listed one), or a first message
`{"type": "auth", "token": …}`; never a token in the URL.

CORS does not cover a WebSocket upgrade: any page may open one to the API,
and the browser sends the user's cookies with it. So cookies count only when
the page's `Origin` is the API's own or in JOBGATE_CORS_ORIGINS (no
cross-site WebSocket hijacking); another page signs in with a token it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from starlette.websockets import WebSocket, WebSocketDisconnect

from jobgate import metrics
from jobgate.api import feed_messages as msg
from jobgate.api.auth import Authenticator, Credential, Principal
from jobgate.api.auth.deps import credential_of
from jobgate.api.feed_messages import Close
from jobgate.errors import AuthError, AuthUnavailable, InvalidRequest
from jobgate.settings import Settings


def cookies_usable(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether cookies sent with an upgrade from `origin` may sign it in.

    No `Origin`: not a browser, so nobody else's page (browsers always send
    it on a WebSocket). Otherwise the API's own origin (the `Host` it was
    asked for; the scheme is left aside, TLS ends at the proxy) or a listed one.
    """
    if origin is None:
        return True
    origin = origin.strip().lower().removesuffix("/")
    if origin in allowed:
        return True
    _, sep, netloc = origin.partition("://")
    return bool(sep) and host is not None and netloc == host.strip().lower()


def credential_for(ws: WebSocket, allowed: Sequence[str]) -> Credential:
    """The upgrade's credential, without cookies a foreign page sent."""
    credential = credential_of(ws)
    if credential.cookies and not cookies_usable(
        ws.headers.get("origin"), ws.headers.get("host"), allowed
    ):
        return Credential(authorization=credential.authorization)
    return credential


async def close(ws: WebSocket, code: int, reason: str) -> None:
    """Close with `code`, counted; a socket the client already left is fine."""
    metrics.WS_CLOSED.labels(str(int(code))).inc()
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(code, reason[:120])


async def _from_first_message(ws: WebSocket, timeout_s: float) -> Credential | str | None:
    """The token of a first `auth` message; else why not (str), or None when
    the client left."""
    try:
        async with asyncio.timeout(timeout_s):
            message = await ws.receive()
    except TimeoutError:
        return f'no sign-in: send {{"type": "auth", "token": …}} first, within {timeout_s:g} s'
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    try:
        command = msg.parse_command(text) if isinstance(text, str) else None
    except InvalidRequest:
        command = None
    if not isinstance(command, msg.Auth):
        return 'no sign-in: the first message must be {"type": "auth", "token": …}'
    return Credential(authorization=f"Bearer {command.token}")


async def sign_in(ws: WebSocket, auth: Authenticator, settings: Settings) -> Principal | None:
    """The caller of an accepted socket, or None once the socket is closed
    (4401: not signed in; 1013: the sign-in service did not answer)."""
    credential = credential_for(ws, settings.cors_origins)
    # A header that is there but wrong is a failed sign-in, not a missing one.
    by_message = not credential.authorization.strip() and not any(
        m.recognises(credential) for m in auth.methods)
    if by_message:
        got = await _from_first_message(ws, settings.ws_auth_timeout_s)
        if got is None:
            return None
        if isinstance(got, str):
            await close(ws, Close.UNAUTHORIZED, got)
            return None
        credential = got
    try:
        principal = await auth.authenticate(credential)
    except AuthError as exc:
        await close(ws, Close.UNAUTHORIZED, str(exc))
        return None
    except AuthUnavailable as exc:
        await close(ws, Close.TRY_LATER, str(exc))
        return None
    if by_message:
        text = msg.ack("auth").text
        assert text is not None
        try:
            await ws.send_text(text)
        except WebSocketDisconnect:
            return None
    return principal
