"""This process's long-lived feed connections (WebSockets and SSE user feeds):
counted per user for the socket cap, closed together at shutdown, and cut
off when a client stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterator
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from jobgate.api.feed import Outbox
from jobgate.api.feed_messages import Close

TRANSPORT = "jobgate.transport"  # the scope key TransportProbe sets


class Transport(Protocol):
    """What `cut_off` needs of a connection's transport (asyncio's or uvloop's:
    uvloop's do not subclass asyncio's, so they are recognised by shape)."""

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...
    def is_closing(self) -> bool: ...


class Connections:
    """Every open feed connection of the process, by its outbox."""

    def __init__(self, sockets_per_user: int) -> None:
        self._per_user = sockets_per_user
        self._users: dict[str, int] = {}
        self._open: set[Outbox] = set()
        self._none_open = asyncio.Event()
        self._none_open.set()
        self.closing = False

    @property
    def count(self) -> int:
        return len(self._open)

    @contextlib.contextmanager
    def holding(self, outbox: Outbox, owner: str | None = None) -> Iterator[bool]:
        """Registers a connection; with `owner`, counted against the per-user cap
        and False (nothing registered) when the owner is at it."""
        if owner is not None:
            if self._users.get(owner, 0) >= self._per_user:
                yield False
                return
            self._users[owner] = self._users.get(owner, 0) + 1
        self._open.add(outbox)
        self._none_open.clear()
        if self.closing:
            outbox.close(Close.GOING_AWAY)
        try:
            yield True
        finally:
            self._open.discard(outbox)
            if not self._open:
                self._none_open.set()
            if owner is not None:
                left = self._users[owner] - 1
                if left:
                    self._users[owner] = left
                else:
                    del self._users[owner]

    def close_all(self) -> None:
        """The process is stopping: every connection ends now (1001 on a
        WebSocket, the end of the stream on SSE); clients resume elsewhere."""
        self.closing = True
        for outbox in list(self._open):
            outbox.close(Close.GOING_AWAY)

    async def wait_closed(self, timeout: float) -> bool:
        """True once every connection has ended (within `timeout`)."""
        try:
            async with asyncio.timeout(timeout):
                await self._none_open.wait()
        except TimeoutError:
            return False
        return True


_TRANSPORT_METHODS = ("write", "close", "abort", "is_closing")


class TransportProbe:
    """Pure ASGI: puts a WebSocket's transport in its scope.

    A client that stops reading leaves the server's sends waiting for room
    that never comes, and the close frame cannot go the ASGI way then. With
    the transport (uvicorn's protocol object holds it) the server queues the
    close frame itself and drops the connection (`cut_off`). Added outermost,
    where `send` is still the server's own: middlewares inside wrap it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if all(callable(getattr(transport, n, None)) for n in _TRANSPORT_METHODS):
                scope[TRANSPORT] = transport
        await self.app(scope, receive, send)


def close_frame(code: int, reason: str = "") -> bytes:
    """A server's (unmasked) WebSocket close frame, RFC 6455 5.5.1."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes([0x88, len(payload)]) + payload


def cut_off(transport: Transport | None, code: int, reason: str, grace_s: float) -> None:
    """Close a connection whose sends are stuck: the close frame goes behind
    what the client has not read yet (it sees the code if it reads on), and
    the connection is dropped if it still does not read within `grace_s`.
    Frames already queued are whole (a stuck send wrote nothing), so the
    stream stays valid."""
    if transport is None or transport.is_closing():
        return
    transport.write(close_frame(code, reason))
    transport.close()
    asyncio.get_running_loop().call_later(grace_s, transport.abort)
