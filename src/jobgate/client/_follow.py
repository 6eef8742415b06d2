"""Waiting for one job, as a plan both clients run.

It takes the cheapest channel that works: the job's SSE stream (resumed with
`Last-Event-ID` whenever it is cut), else long-polls of the status, else
plain polls paced by the server's `Retry-After`. A deadline bounds it all;
stopping the wait (timeout, Ctrl-C, a cancelled task) leaves the job running
unless `cancel_on_abort`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx

from jobgate.client import _core as core
from jobgate.client import _plans as plans
from jobgate.client._actions import Call, Lines, Next, Plan, Read, Sleep, closing
from jobgate.client._errors import APIError, JobTimeout, TransportError
from jobgate.client._sse import SSEDecoder
from jobgate.client._tracker import Channel, Progress, Tracker, next_channel
from jobgate.client._transport import Deadline, poll_interval, retry_after_of
from jobgate.models import JobEvent, JobResultResponse, JobStatusResponse

OnProgress = Callable[[Progress], object]
OnEvent = Callable[[JobEvent], object]
LONG_POLL_S = 25.0
"""Seconds one long-poll may hang: well inside any proxy's 60 s cut."""
SSE_READ_TIMEOUT_S = 60.0
"""Longest silence on an SSE stream before reconnecting (the server pings every 15 s)."""
ABORT_CANCEL_S = 5.0
"""How long a wait that is being stopped spends cancelling its job."""
INTERRUPTS = (KeyboardInterrupt, asyncio.CancelledError)


class Unsupported(Exception):
    """This channel does not work here; the next one is tried."""


def wait(
    s: plans.Session, job_id: str, *, on_progress: OnProgress | None, on_event: OnEvent | None,
    timeout: float | None, cancel_on_abort: bool,
) -> Plan[JobResultResponse]:
    """The job's result if it completed; else `JobFailed`, `JobCancelled`, `JobTimeout`."""
    follow = Follow(s, job_id, on_progress, on_event, s.deadline(timeout))
    try:
        result = yield from follow.run()
    except (*INTERRUPTS, JobTimeout):
        if cancel_on_abort:
            with contextlib.suppress(Exception):
                yield from plans.cancel(s, job_id, s.deadline(ABORT_CANCEL_S))
        raise
    return core.outcome(result)


class Follow:
    """One wait: the channel in use, the tracker, the reconnect counter, the deadline."""

    def __init__(
        self, s: plans.Session, job_id: str, on_progress: OnProgress | None,
        on_event: OnEvent | None, deadline: Deadline,
    ) -> None:
        self.s = s
        self.job_id = job_id
        self.on_progress = on_progress
        self.on_event = on_event
        self.deadline = deadline
        self.tracker = Tracker(job_id)
        self.channel: Channel = "sse" if s.channel == "auto" else s.channel
        self.etag: str | None = None
        self.failures = 0

    def run(self) -> Plan[JobResultResponse]:
        while not self.tracker.terminal:
            try:
                self._check_deadline()
                yield from self._round()
            except Unsupported:
                self.channel = next_channel(self.channel)
            except (httpx.TransportError, TimeoutError, TransportError, APIError) as exc:
                self._check_deadline(exc)
                if isinstance(exc, TransportError | APIError):
                    raise
                yield from self._backoff(exc)  # a stream cut mid-body: resume it
        if self.tracker.result is not None:  # sent by the stream
            return self.tracker.result
        return (yield from plans.result(self.s, self.job_id))

    def _backoff(self, exc: Exception) -> Plan[None]:
        if not self.s.retry.should_retry(self.failures, exc=exc):
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        yield Sleep(self.deadline.clamp(self.s.retry.backoff(self.failures)))
        self.failures += 1

    def _check_deadline(self, cause: BaseException | None = None) -> None:
        if self.deadline.expired:
            raise JobTimeout(self.job_id, self.deadline.timeout) from cause

    def _round(self) -> Plan[None]:
        if self.channel == "sse":
            started = self.s.clock()
            if not (yield from self._sse()) and not self.tracker.terminal:
                # Closed with nothing new: the server's connection cap, or an
                # ended job whose events are gone. The status tells which.
                pause = yield from self._poll(0)
                if self.s.clock() - started < 1.0:
                    yield Sleep(self.deadline.clamp(pause))
        else:
            wait = self.deadline.clamp(LONG_POLL_S) if self.channel == "long_poll" else 0
            pause = yield from self._poll(wait)
            if pause and not self.tracker.terminal:
                yield Sleep(self.deadline.clamp(pause))

    def _report(self, event: JobEvent | None, progress: Progress | None) -> Plan[None]:
        if event is not None and self.on_event is not None:
            yield Call(self.on_event, event)
        if progress is not None and self.on_progress is not None:
            yield Call(self.on_progress, progress)

    def _sse(self) -> Plan[bool]:
        """Read the event stream until it ends; whether anything new came."""
        headers = {"Accept": "text/event-stream"}
        if self.tracker.last_event_id:
            headers["Last-Event-ID"] = self.tracker.last_event_id
        response = yield from plans.send(
            self.s, "GET", self.s.paths.job(self.job_id, "events"), headers=headers,
            stream=True, read=SSE_READ_TIMEOUT_S, deadline=self.deadline,
        )
        return (yield from closing(response, self._read_stream(response)))

    def _read_stream(self, response: httpx.Response) -> Plan[bool]:
        if core.sse_unsupported(response):
            raise Unsupported
        if not response.is_success:
            yield Read(response)
            core.check(response)
        decoder, got = SSEDecoder(), False
        lines = yield Lines(response)
        while (line := (yield Next(lines, plans.limit_of(self.deadline)))) is not None:
            event = decoder.feed(line)
            if event is not None and not self.tracker.take_result(event) \
                    and self.tracker.is_new(event):
                got, self.failures = True, 0
                yield from self._report(event, self.tracker.on_event(event))
                if self.tracker.terminal:
                    break
            self._check_deadline()
        return got

    def _poll(self, wait: float) -> Plan[float]:
        """One status request (a long-poll when `wait`); seconds to pause before the next."""
        headers = {"If-None-Match": self.etag} if wait and self.etag else {}
        started = self.s.clock()
        try:
            response = yield from plans.request(
                self.s, "GET", self.s.paths.job(self.job_id, "status"),
                params={"wait": round(wait, 3)} if wait else None, headers=headers,
                read=self.s.timeout + wait, deadline=self.deadline,
            )
        except APIError as exc:
            if wait and exc.status_code in (400, 422):  # a server without long-poll
                raise Unsupported from exc
            raise
        self.etag = response.headers.get("etag", self.etag)
        self.failures = 0
        progress = self.tracker.on_status(core.parse(JobStatusResponse, response))
        yield from self._report(None, progress)
        quick = self.s.clock() - started < min(wait, 1.0)
        if wait and not (quick and progress is None):
            return 0.0  # a real long-poll: ask again at once
        return poll_interval(retry_after_of(response.headers))
