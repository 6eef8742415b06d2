"""A job's event log as Server-Sent Events: from the start or after
`Last-Event-ID`, then new events as they land, until the terminal one.

The per-user feeds (api/feed.py) follow each job with the same reads:
`next_events`, `is_terminal`, `result_body`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import ServerSentEvent

from jobgate import serde
from jobgate.api.views import result_view
from jobgate.api.waiting import Waiters
from jobgate.job import TERMINAL
from jobgate.services import Services
from jobgate.store.jobs import RawEvent

_BATCH = 500  # a full batch means more are waiting: read again before sleeping


def is_terminal(etype: str, data: str) -> bool:
    return etype == "state" and serde.loads(data).get("status") in TERMINAL


async def next_events(
    svc: Services, job_id: str, owner: str, last: str | None
) -> list[RawEvent] | None:
    """The events after `last`; None when the stream should end with nothing
    more to say (the job expired, or ended and its last event was sent)."""
    batch = await svc.store.raw_events_after(job_id, last)
    if batch:
        return batch
    job = await svc.store.get(job_id)
    if job is None or job.owner != owner:
        return None
    if job.terminal:
        # It may have ended between our read and this one; the terminal event
        # lands with the state (and the log moves into the record in that
        # same step, where the store's reader finds it), so one more read has
        # it if so.
        return await svc.store.raw_events_after(job_id, last) or None
    return batch


async def result_body(svc: Services, job_id: str) -> str | None:
    """The body of GET /result as JSON, once the job has ended.

    Sent as a `result` event (no id: not part of the log) just before the
    terminal event, it spares a waiting client its last request, and a
    client that stops at the terminal event has it already.
    """
    job = await svc.store.get(job_id)
    if job is None or not job.terminal:
        return None
    return result_view(job).model_dump_json()


async def event_stream(
    svc: Services, waiters: Waiters, job_id: str, owner: str, last: str | None
) -> AsyncIterator[ServerSentEvent]:
    """Events after `last`, then new ones as they land; ends after the terminal
    event (with the result before it), or at the connection cap (the client
    resumes with Last-Event-ID)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.sse_max_connection_s
    with waiters.waiting("sse"), svc.notifier.watch(job_id) as w:
        while (batch := await next_events(svc, job_id, owner, last)) is not None:
            for eid, etype, data in batch:
                last = eid
                event = ServerSentEvent(data=data, event=etype, id=eid)
                if is_terminal(etype, data):
                    if (result := await result_body(svc, job_id)) is not None:
                        yield ServerSentEvent(data=result, event="result")
                    yield event
                    return
                yield event
            left = deadline - loop.time()
            if left <= 0 or svc.notifier.closing:
                return
            if len(batch) < _BATCH:
                await w.wait(left)
