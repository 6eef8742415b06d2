"""`GET /api/multi-agent/ws`: every job the caller follows, on one WebSocket.

The protocol is in docs/websocket.md. Per socket: a reader that runs the
client's commands in order, a writer that drains the socket's outbox (a
heartbeat when it has been quiet), and a `Feed` whose tasks follow the jobs.
A socket holds no Redis connection: its followers sleep on the process's
notifier. No `from __future__ import annotations` here: FastAPI reads the
endpoint's signature.
"""

import asyncio
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from jobgate import metrics
from jobgate.api import feed_messages as msg
from jobgate.api.connections import TRANSPORT, Connections, cut_off
from jobgate.api.feed import Feed, Outbox
from jobgate.api.feed_messages import Close
from jobgate.api.waiting import Waiters
from jobgate.api.ws_signin import close, sign_in
from jobgate.errors import InvalidRequest, JobNotFound
from jobgate.job import is_valid_job_id
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.store.connection import TRANSIENT
from jobgate.store.jobs import is_event_id

log = logging.getLogger(__name__)
_CLOSE_WAIT_S = 1.0  # for a close frame to be taken; then the connection is cut
# A client cut off for not reading may still read what was sent and the 4408
# close frame for this long; then its connection is dropped.
_CUT_OFF_GRACE_S = 30.0
_REASONS: dict[int, str] = {
    Close.GOING_AWAY: "server shutting down: resume elsewhere",
    Close.TOO_BIG: "message too big",
    Close.SERVER_ERROR: "server error",
}


async def socket(websocket: WebSocket) -> None:
    """Many jobs on one connection: subscribe, unsubscribe, cancel; events,
    results and errors back (docs/websocket.md)."""
    state = websocket.app.state
    svc: Services = state.svc
    await websocket.accept()
    principal = await sign_in(websocket, state.auth, svc.settings)
    if principal is None:
        return
    connections: Connections = state.connections
    waiters: Waiters = state.waiters
    outbox = Outbox(svc.settings.ws_send_buffer_bytes)
    with connections.holding(outbox, principal.user_id) as admitted:
        if not admitted:
            await close(websocket, Close.TOO_MANY_SOCKETS,
                        f"at most {svc.settings.ws_max_sockets_per_user} sockets per user")
            return
        with waiters.waiting("websocket"):
            await _serve(websocket, svc, principal.user_id, outbox)


async def _serve(ws: WebSocket, svc: Services, owner: str, outbox: Outbox) -> None:
    feed = Feed(svc, owner, outbox, cap=svc.settings.ws_max_subscriptions)
    writer = asyncio.create_task(_write(ws, outbox, svc.settings), name="ws-writer")
    reader = asyncio.create_task(_read(ws, svc, owner, feed, outbox), name="ws-reader")
    try:
        done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and reader.exception() is not None:
            log.error("websocket reader failed", exc_info=reader.exception())
            outbox.close(Close.SERVER_ERROR)
        if outbox.close_code is not None and not writer.done():
            await writer  # it sends the close frame (or cuts a stuck socket off)
    finally:
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
        await feed.aclose()


async def _write(ws: WebSocket, outbox: Outbox, settings: Settings) -> None:
    """Send what the outbox holds, a heartbeat after a quiet spell, and the
    close frame when the connection is to end. A send that stalls means the
    client stopped reading: it is cut off (4408)."""
    transport = ws.scope.get(TRANSPORT)
    while True:
        out = await outbox.get(settings.ws_heartbeat_s)
        if outbox.close_code is not None:
            code = outbox.close_code
            await _close_now(ws, code, _REASONS.get(code, ""), transport)
            return
        text = msg.HEARTBEAT if out is None else out.text
        if text is None:
            continue  # bookkeeping of the SSE feed only
        try:
            async with asyncio.timeout(settings.ws_send_timeout_s):
                await ws.send_text(text)
        except TimeoutError:
            metrics.WS_CLOSED.labels(str(int(Close.NOT_READING))).inc()
            cut_off(transport, Close.NOT_READING, "not reading", _CUT_OFF_GRACE_S)
            return
        except WebSocketDisconnect:
            return


async def _close_now(ws: WebSocket, code: int, reason: str, transport: Any) -> None:
    """The close frame the ASGI way, or straight onto the transport when the
    socket's sends are stuck."""
    try:
        async with asyncio.timeout(_CLOSE_WAIT_S):
            await close(ws, code, reason)
    except TimeoutError:
        cut_off(transport, code, reason, _CLOSE_WAIT_S)


async def _read(ws: WebSocket, svc: Services, owner: str, feed: Feed, outbox: Outbox) -> None:
    """The client's commands, one at a time, in the order sent."""
    limit = svc.settings.ws_max_message_bytes
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await outbox.put(msg.error(None, "invalid_request", "send JSON in text frames"))
            continue
        if len(text) > limit:
            outbox.close(Close.TOO_BIG)
            return
        await _run(text, svc, owner, feed, outbox)


async def _run(text: str, svc: Services, owner: str, feed: Feed, outbox: Outbox) -> None:
    job_id = msg.job_of(text)
    try:
        command = msg.parse_command(text)
        if isinstance(command, msg.Subscribe):
            if command.all:
                await feed.subscribe_all(acknowledge=True)
            elif command.job_id is not None:
                after = command.last_event_id
                if after is not None and not is_event_id(after):
                    raise InvalidRequest("last_event_id is not an event id of this API")
                await feed.subscribe(command.job_id, after)
        elif isinstance(command, msg.Unsubscribe):
            await feed.unsubscribe(command.job_id)
        elif isinstance(command, msg.Cancel):
            await _cancel(svc, owner, command.job_id, outbox)
        else:
            raise InvalidRequest("already signed in")
    except (InvalidRequest, JobNotFound) as exc:
        detail = "no such job" if isinstance(exc, JobNotFound) else str(exc)
        await outbox.put(msg.error(job_id, exc.code, detail))
    except TRANSIENT:
        await outbox.put(msg.error(job_id, "store_unavailable", "Valkey is unreachable; retry"))


async def _cancel(svc: Services, owner: str, job_id: str, outbox: Outbox) -> None:
    """As POST /jobs/{id}/cancel: acked with the status it leaves."""
    if not is_valid_job_id(job_id):
        raise JobNotFound(job_id)
    await svc.store.cancel(job_id, owner)
    job, _ = await svc.store.get_owned(job_id, owner)
    await outbox.put(msg.ack("cancel", job_id=job_id, status=job.state.value))
