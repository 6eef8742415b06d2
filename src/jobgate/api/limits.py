"""Body size limit, enforced before the body is read whole (pure ASGI).

A declared Content-Length over the limit is refused at once; a chunked body
is counted as it arrives and refused as soon as it passes the limit, so
memory stays bounded by the limit whatever the client sends. The refusal is
a `RequestTooLarge`, answered by `api/errors.py` (`MiddlewareErrors`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobgate.errors import RequestTooLarge


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            raise self._too_large()
        body, more = bytearray(), True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > self.max_bytes:
                raise self._too_large()
        await self.app(scope, _replay(bytes(body), receive), send)

    def _too_large(self) -> RequestTooLarge:
        return RequestTooLarge(f"request body over {self.max_bytes} bytes")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
