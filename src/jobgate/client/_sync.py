"""`Client`: the blocking SDK. The same as `_async.py`, plus an explicit
deadline (there is no `asyncio.timeout` to cut a blocking read)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from jobgate.agents.models import MultiAgentRequest, MultiAgentResponse
from jobgate.client import _core as core
from jobgate.client._errors import APIError, JobNotDone, JobTimeout, TransportError
from jobgate.client._sse import SSEDecoder
from jobgate.client._transport import Deadline, Retry, poll_interval, retry_after_of
from jobgate.job import Priority
from jobgate.models import (
    JobEvent,
    JobListResponse,
    JobResultResponse,
    JobStatusResponse,
    JobSubmitResponse,
)

OnProgress = Callable[[core.Progress], object]
OnEvent = Callable[[JobEvent], object]
_ABORT_CANCEL_S = 5.0
_NO_DEADLINE = Deadline(None)
_sleep = time.sleep  # one name for every pause, so tests can record them


class _Unsupported(Exception):
    """This channel does not work here; the next one is tried."""


class Client:
    """Talks to a jobgate server over HTTP; `base_url`/`token` default to
    JOBGATE_URL/JOBGATE_TOKEN. Use as `with Client() as c: ...`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        retry: Retry | None = None,
        channel: core.Channel = "auto",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, token = core.resolve(base_url, token)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.channel: core.Channel = channel
        self._http = httpx.Client(
            base_url=self.base_url, headers=core.default_headers(token, headers),
            timeout=timeout, transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- one request, retried -------------------------------------------------

    def _send(
        self, request: httpx.Request, *, stream: bool = False, deadline: Deadline = _NO_DEADLINE
    ) -> httpx.Response:
        """Send with retries on network errors and 502/503/504/524; the last answer, unchecked."""
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if deadline.expired or not self.retry.should_retry(attempt, exc=exc):
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                delay = self.retry.delay(attempt)
            else:
                if deadline.expired or not self.retry.should_retry(
                    attempt, status=response.status_code
                ):
                    return response
                delay = self.retry.delay(attempt, retry_after_of(response.headers))
                response.close()
            _sleep(deadline.clamp(delay))
            attempt += 1

    def _request(
        self, method: str, url: str, *, deadline: Deadline = _NO_DEADLINE, **kw: Any
    ) -> httpx.Response:
        response = self._send(self._http.build_request(method, url, **kw), deadline=deadline)
        return core.check(response)

    # -- the endpoints ---------------------------------------------------------

    def submit(
        self,
        request: MultiAgentRequest | Mapping[str, Any],
        *,
        priority: Priority | str | None = None,
        idempotency_key: str | None = None,
    ) -> JobSubmitResponse:
        """Queue a job. All tries of this call share one Idempotency-Key: one job at most."""
        response = self._request(
            "POST", f"{core.PREFIX}/submit", json=core.submit_payload(request, priority),
            headers=core.idempotency_headers(idempotency_key),
        )
        return core.parse(JobSubmitResponse, response)

    def status(self, job_id: str, *, wait: float | None = None) -> JobStatusResponse:
        """The job's status; with `wait` (≤ 50 s) it answers as soon as the job changes."""
        params = {"wait": wait} if wait else None
        response = self._request(
            "GET", core.job_path(job_id, "status"), params=params,
            timeout=self.timeout + (wait or 0),
        )
        return core.parse(JobStatusResponse, response)

    def result(self, job_id: str) -> JobResultResponse:
        """The ended job's result or error; `JobNotDone` while it runs."""
        response = self._request("GET", core.job_path(job_id, "result"))
        if response.status_code == 202:
            raise JobNotDone(core.parse(JobStatusResponse, response))
        return core.parse(JobResultResponse, response)

    def cancel(self, job_id: str) -> JobStatusResponse:
        response = self._request("POST", core.job_path(job_id, "cancel"))
        return core.parse(JobStatusResponse, response)

    def jobs(self, *, limit: int = 20, cursor: str | None = None) -> JobListResponse:
        """The caller's jobs, newest first; pass `next` back as `cursor` for more."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = self._request("GET", f"{core.PREFIX}/jobs", params=params)
        return core.parse(JobListResponse, response)

    def run(
        self,
        request: MultiAgentRequest | Mapping[str, Any],
        *,
        priority: Priority | str | None = None,
        idempotency_key: str | None = None,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        timeout: float | None = None,
        cancel_on_abort: bool = False,
    ) -> MultiAgentResponse:
        """Submit, wait, and return the response; typed errors when the job does not complete."""
        job = self.submit(request, priority=priority, idempotency_key=idempotency_key)
        result = self.wait(
            job.job_id, on_progress=on_progress, on_event=on_event, timeout=timeout,
            cancel_on_abort=cancel_on_abort,
        )
        return MultiAgentResponse.model_validate(result.result)

    # -- waiting ---------------------------------------------------------------

    def wait(
        self,
        job_id: str,
        *,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        timeout: float | None = None,
        cancel_on_abort: bool = False,
    ) -> JobResultResponse:
        """Wait for the job to end; its result if it completed, else `JobFailed`,
        `JobCancelled` or (after `timeout` s) `JobTimeout`.

        Stopping the wait (Ctrl-C, timeout) leaves the job running, unless
        `cancel_on_abort=True`.
        """
        follow = _Follow(self, job_id, on_progress, on_event, Deadline(timeout))
        try:
            result = follow.run()
        except (KeyboardInterrupt, JobTimeout):
            self._abort(job_id, cancel_on_abort)
            raise
        return core.outcome(result)

    def _abort(self, job_id: str, cancel: bool) -> None:
        if cancel:
            with contextlib.suppress(Exception):
                self._request(
                    "POST", core.job_path(job_id, "cancel"), timeout=_ABORT_CANCEL_S,
                    deadline=Deadline(_ABORT_CANCEL_S),
                )


class _Follow:
    """One wait: the channel in use, the tracker, the reconnect counter, the deadline."""

    def __init__(
        self, client: Client, job_id: str, on_progress: OnProgress | None,
        on_event: OnEvent | None, deadline: Deadline,
    ) -> None:
        self.c = client
        self.job_id = job_id
        self.on_progress = on_progress
        self.on_event = on_event
        self.deadline = deadline
        self.tracker = core.Tracker(job_id)
        self.channel: core.Channel = "sse" if client.channel == "auto" else client.channel
        self.etag: str | None = None
        self.failures = 0

    def run(self) -> JobResultResponse:
        while not self.tracker.terminal:
            try:
                self._check_deadline()
                self._round()
            except _Unsupported:
                self.channel = core.next_channel(self.channel)
            except (httpx.TransportError, TransportError, APIError) as exc:
                self._check_deadline(exc)
                if isinstance(exc, TransportError | APIError):
                    raise
                if not self.c.retry.should_retry(self.failures, exc=exc):  # a stream cut
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                self._sleep(self.c.retry.backoff(self.failures))
                self.failures += 1
        if self.tracker.result is not None:  # sent by the stream
            return self.tracker.result
        return self.c.result(self.job_id)

    def _check_deadline(self, cause: BaseException | None = None) -> None:
        if self.deadline.expired:
            raise JobTimeout(self.job_id, self.deadline.timeout) from cause

    def _sleep(self, seconds: float) -> None:
        _sleep(self.deadline.clamp(seconds))

    def _round(self) -> None:
        if self.channel == "sse":
            started = time.monotonic()
            if not self._sse() and not self.tracker.terminal:
                # Closed with nothing new: the server's connection cap, or an
                # ended job whose events are gone. The status tells which.
                pause = self._poll(0)
                if time.monotonic() - started < 1.0:
                    self._sleep(pause)
        else:
            left = self.deadline.left()
            wait = core.LONG_POLL_S if left is None else min(core.LONG_POLL_S, left)
            pause = self._poll(wait if self.channel == "long_poll" else 0)
            if pause and not self.tracker.terminal:
                self._sleep(pause)

    def _report(self, event: JobEvent | None, progress: core.Progress | None) -> None:
        if event is not None and self.on_event is not None:
            self.on_event(event)
        if progress is not None and self.on_progress is not None:
            self.on_progress(progress)

    def _sse(self) -> bool:
        """Read the event stream until it ends; whether anything new came."""
        headers = {"Accept": "text/event-stream"}
        if self.tracker.last_event_id:
            headers["Last-Event-ID"] = self.tracker.last_event_id
        read = self.deadline.clamp(core.SSE_READ_TIMEOUT_S) + 0.05
        request = self.c._http.build_request(
            "GET", core.job_path(self.job_id, "events"), headers=headers,
            timeout=httpx.Timeout(self.c.timeout, read=read),
        )
        response = self.c._send(request, stream=True, deadline=self.deadline)
        got = False
        try:
            if core.sse_unsupported(response):
                raise _Unsupported
            if not response.is_success:
                response.read()
                core.check(response)
            decoder = SSEDecoder()
            for line in response.iter_lines():
                event = decoder.feed(line)
                if (
                    event is None
                    or self.tracker.take_result(event)
                    or not self.tracker.is_new(event)
                ):
                    self._check_deadline()
                    continue
                got, self.failures = True, 0
                self._report(event, self.tracker.on_event(event))
                if self.tracker.terminal:
                    break
                self._check_deadline()
        finally:
            response.close()
        return got

    def _poll(self, wait: float) -> float:
        """One status request (a long-poll when `wait`); seconds to pause before the next."""
        headers = {"If-None-Match": self.etag} if wait and self.etag else {}
        started = time.monotonic()
        try:
            response = self.c._request(
                "GET", core.job_path(self.job_id, "status"),
                params={"wait": round(wait, 3)} if wait else None, headers=headers,
                timeout=self.c.timeout + wait, deadline=self.deadline,
            )
        except APIError as exc:
            if wait and exc.status_code in (400, 422):  # a server without long-poll
                raise _Unsupported from exc
            raise
        self.etag = response.headers.get("etag", self.etag)
        self.failures = 0
        progress = self.tracker.on_status(core.parse(JobStatusResponse, response))
        self._report(None, progress)
        quick = time.monotonic() - started < min(wait, 1.0)
        if wait and not (quick and progress is None):
            return 0.0  # a real long-poll: ask again at once
        return poll_interval(retry_after_of(response.headers))
