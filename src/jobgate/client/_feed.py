"""The user-wide SSE feed `{prefix}/events`: what `watch` listens to when no
WebSocket can be had. Its messages are the socket's; its `id:` is an opaque
cursor saying where the client is in every job, sent back as `Last-Event-ID`.

The feed carries the caller's jobs that are running when it opens and those
submitted later; a listed job that had already ended is not on it. So a
listed job the feed has not shown yet is looked up (when the feed opens and
at each heartbeat): unknown is reported as `NotFound`, ended is read from its
own event log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from jobgate.client import _core as core
from jobgate.client import _plans as plans
from jobgate.client._actions import Emit, Lines, Next, Plan, Read, closing
from jobgate.client._errors import APIError, NotFound
from jobgate.client._sse import SSEDecoder
from jobgate.client._tracker import Tracker
from jobgate.client._update import JobUpdate
from jobgate.job import TERMINAL
from jobgate.models import JobStatusResponse

if TYPE_CHECKING:
    from jobgate.client._watch import Watch

FEED_READ_TIMEOUT_S = 60.0
"""Longest silence on the feed before reconnecting (it sends a heartbeat every 15 s)."""


class FeedEnded(Exception):
    """The feed closed before saying anything: reconnect after a pause."""


class Feed:
    def __init__(self, w: Watch) -> None:
        self.w = w
        self.cursor: str | None = None

    def follow(self) -> Plan[None]:
        """One connection to the feed, read until it ends or the watch is over."""
        w = self.w
        headers = {"Accept": "text/event-stream"}
        if self.cursor:
            headers["Last-Event-ID"] = self.cursor
        response = yield from plans.send(
            w.s, "GET", w.s.paths("events"), headers=headers, stream=True,
            read=FEED_READ_TIMEOUT_S, deadline=w.deadline,
        )
        yield from closing(response, self._read(response))

    def _read(self, response: httpx.Response) -> Plan[None]:
        w = self.w
        if core.sse_unsupported(response):
            raise APIError(response.status_code, "the server offers neither a WebSocket nor "
                           "the SSE feed to watch many jobs", "no_feed")
        if not response.is_success:
            yield Read(response)
            core.check(response)
        yield from self._look_up_unseen()
        decoder, heard = SSEDecoder(), False
        lines = yield Lines(response)
        while not w.finished and not w.deadline.expired:
            line = yield Next(lines, plans.limit_of(w.deadline))
            if line is None:
                break
            heard = True
            if line.startswith(":"):  # a heartbeat
                w.failures = 0
                yield from self._look_up_unseen()
                continue
            message = decoder.feed(line)
            self.cursor = decoder.last_event_id or self.cursor
            if message is not None:
                yield from w.on_message(message.data)
        if not heard:
            raise FeedEnded("the feed closed without a word")

    def _look_up_unseen(self) -> Plan[None]:
        """Listed jobs the feed has shown nothing of: gone, or ended before it opened?"""
        w = self.w
        for tracker in w.pending():
            if tracker.job_id not in w.listed or tracker.last_event_id is not None:
                continue
            try:
                response = yield from plans.request(
                    w.s, "GET", w.s.paths.job(tracker.job_id, "status"), deadline=w.deadline)
            except NotFound as exc:
                w.ended.add(tracker.job_id)
                yield Emit(JobUpdate(tracker.job_id, error=exc))
                continue
            if core.parse(JobStatusResponse, response).status not in TERMINAL:
                continue  # the feed carries it
            yield from self._replay(tracker)

    def _replay(self, tracker: Tracker) -> Plan[None]:
        """An ended job's whole log from its own event stream (it ends after the last event)."""
        w = self.w
        response = yield from plans.send(
            w.s, "GET", w.s.paths.job(tracker.job_id, "events"),
            headers={"Accept": "text/event-stream"}, stream=True, deadline=w.deadline,
        )
        yield from closing(response, self._replay_from(tracker, response))

    def _replay_from(self, tracker: Tracker, response: httpx.Response) -> Plan[None]:
        w = self.w
        if not response.is_success:
            yield Read(response)
            core.check(response)
        decoder = SSEDecoder()
        lines = yield Lines(response)
        while tracker.job_id not in w.ended:
            line = yield Next(lines, plans.limit_of(w.deadline))
            if line is None:
                return
            event = decoder.feed(line)
            if event is None:
                continue
            if event.type == "result":
                yield from w.on_message({"type": "result", "job_id": tracker.job_id,
                                         "data": event.data})
            else:
                yield from w.take_event(tracker, event)
