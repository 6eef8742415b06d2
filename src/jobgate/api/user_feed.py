"""`GET /api/multi-agent/events`: the caller's jobs as one Server-Sent Events
stream, for clients that cannot use the WebSocket. The same messages as
`subscribe all` on `/ws`; each `event` carries the feed cursor as its id
(api/feed_cursor.py), so `Last-Event-ID` resumes across every job at once.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from jobgate.api import feed_messages as msg
from jobgate.api.auth import Owner
from jobgate.api.connections import Connections
from jobgate.api.deps import Svc, Waiting
from jobgate.api.feed import Feed, Outbox
from jobgate.api.feed_cursor import MAX_LENGTH, FeedCursor
from jobgate.api.waiting import Waiters
from jobgate.services import Services

CursorText = Annotated[str | None, Header(max_length=MAX_LENGTH)]


async def feed_stream(
    svc: Services, connections: Connections, waiters: Waiters, owner: str,
    cursor: FeedCursor | None,
) -> AsyncIterator[ServerSentEvent]:
    """The feed until the connection cap, a shutdown, or the client leaving.

    The cursor moves as messages go out, never ahead: a job enters it as
    its follow starts (before the watermark passes it), moves with each of
    its events and leaves it with its terminal event.
    """
    s = svc.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + s.sse_max_connection_s
    state = cursor or FeedCursor(0)
    outbox = Outbox(s.ws_send_buffer_bytes)

    def on_follow(job_id: str, after: str | None) -> None:
        state.positions.setdefault(job_id, after)

    feed = Feed(svc, owner, outbox, cap=s.ws_max_subscriptions, on_follow=on_follow)
    with waiters.waiting("sse"), connections.holding(outbox):
        try:
            if cursor is not None:
                await feed.resume(dict(cursor.positions))
            await feed.subscribe_all(cursor.watermark_us if cursor else None, acknowledge=False)
            state.watermark_us = feed.watermark_us
            opening = msg.ack("subscribe", all=True).text
            yield ServerSentEvent(data=opening, id=state.encode())  # a cursor from the start
            while (left := deadline - loop.time()) > 0:
                out = await outbox.get(left)
                if out is None:
                    return  # the connection cap, or the process is stopping
                if out.job_id is not None:
                    state.advance(out.job_id, out.event_id, ends=out.ends)
                if out.text is None:
                    continue
                if out.event_id is None:
                    yield ServerSentEvent(data=out.text)
                    continue
                state.watermark_us = feed.watermark_us
                yield ServerSentEvent(data=out.text, id=state.encode())
        finally:
            await feed.aclose()


async def user_events(
    request: Request,
    owner: Owner,
    svc: Svc,
    waiters: Waiting,
    last_event_id: CursorText = None,
    after: Annotated[str | None, Query(alias="last_event_id", max_length=MAX_LENGTH)] = None,
) -> EventSourceResponse:
    """Every job of the caller (active now, and submitted later) as Server-Sent
    Events; resume with `Last-Event-ID` (or `?last_event_id=`), the feed cursor."""
    text = last_event_id or after
    cursor = FeedCursor.decode(text) if text else None  # 422 before the stream starts
    return EventSourceResponse(
        feed_stream(svc, request.app.state.connections, waiters, owner, cursor),
        ping=svc.settings.sse_heartbeat_s, shutdown_grace_period=2.0,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
