"""`AsyncClient`: the SDK for asyncio code. `_sync.py` is the same, line for line, blocking.

Waiting takes the cheapest channel that works: the job's SSE stream (resumed
with `Last-Event-ID` whenever it is cut), else long-polls of the status, else
plain polls paced by the server's `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from jobgate.agents.models import MultiAgentRequest, MultiAgentResponse
from jobgate.client import _core as core
from jobgate.client._errors import APIError, JobNotDone, JobTimeout, TransportError
from jobgate.client._sse import SSEDecoder
from jobgate.client._transport import Retry, poll_interval, retry_after_of
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
_sleep = asyncio.sleep  # one name for every pause, so tests can record them


class _Unsupported(Exception):
    """This channel does not work here; the next one is tried."""


async def _call(callback: Callable[[Any], object] | None, arg: object) -> None:
    if callback is not None:
        value = callback(arg)
        if inspect.isawaitable(value):
            await value


class AsyncClient:
    """Talks to a jobgate server over HTTP; `base_url`/`token` default to
    JOBGATE_URL/JOBGATE_TOKEN. Use as `async with AsyncClient() as c: ...`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        retry: Retry | None = None,
        channel: core.Channel = "auto",
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url, token = core.resolve(base_url, token)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.channel: core.Channel = channel
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=core.default_headers(token, headers),
            timeout=timeout, transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- one request, retried -------------------------------------------------

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send with retries on network errors and 502/503/504/524; the last answer, unchecked."""
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if not self.retry.should_retry(attempt, exc=exc):
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                delay = self.retry.delay(attempt)
            else:
                if not self.retry.should_retry(attempt, status=response.status_code):
                    return response
                delay = self.retry.delay(attempt, retry_after_of(response.headers))
                await response.aclose()
            await _sleep(delay)
            attempt += 1

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        response = await self._send(self._http.build_request(method, url, **kw))
        return core.check(response)

    # -- the endpoints ---------------------------------------------------------

    async def submit(
        self,
        request: MultiAgentRequest | Mapping[str, Any],
        *,
        priority: Priority | str | None = None,
        idempotency_key: str | None = None,
    ) -> JobSubmitResponse:
        """Queue a job. All tries of this call share one Idempotency-Key: one job at most."""
        response = await self._request(
            "POST", f"{core.PREFIX}/submit", json=core.submit_payload(request, priority),
            headers=core.idempotency_headers(idempotency_key),
        )
        return core.parse(JobSubmitResponse, response)

    async def status(self, job_id: str, *, wait: float | None = None) -> JobStatusResponse:
        """The job's status; with `wait` (≤ 50 s) it answers as soon as the job changes."""
        params = {"wait": wait} if wait else None
        response = await self._request(
            "GET", core.job_path(job_id, "status"), params=params,
            timeout=self.timeout + (wait or 0),
        )
        return core.parse(JobStatusResponse, response)

    async def result(self, job_id: str) -> JobResultResponse:
        """The ended job's result or error; `JobNotDone` while it runs."""
        response = await self._request("GET", core.job_path(job_id, "result"))
        if response.status_code == 202:
            raise JobNotDone(core.parse(JobStatusResponse, response))
        return core.parse(JobResultResponse, response)

    async def cancel(self, job_id: str) -> JobStatusResponse:
        response = await self._request("POST", core.job_path(job_id, "cancel"))
        return core.parse(JobStatusResponse, response)

    async def jobs(self, *, limit: int = 20, cursor: str | None = None) -> JobListResponse:
        """The caller's jobs, newest first; pass `next` back as `cursor` for more."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await self._request("GET", f"{core.PREFIX}/jobs", params=params)
        return core.parse(JobListResponse, response)

    async def run(
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
        job = await self.submit(request, priority=priority, idempotency_key=idempotency_key)
        result = await self.wait(
            job.job_id, on_progress=on_progress, on_event=on_event, timeout=timeout,
            cancel_on_abort=cancel_on_abort,
        )
        return MultiAgentResponse.model_validate(result.result)

    # -- waiting ---------------------------------------------------------------

    async def wait(
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

        Stopping the wait (task cancelled, timeout) leaves the job running,
        unless `cancel_on_abort=True`. Callbacks may be plain or async.
        """
        follow = _Follow(self, job_id, on_progress, on_event)
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                result = await follow.run()
        except TimeoutError:
            if not scope.expired():
                raise
            await self._abort(job_id, cancel_on_abort)
            raise JobTimeout(job_id, timeout) from None
        except asyncio.CancelledError:
            await self._abort(job_id, cancel_on_abort)
            raise
        return core.outcome(result)

    async def _abort(self, job_id: str, cancel: bool) -> None:
        if cancel:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_ABORT_CANCEL_S):
                    await self.cancel(job_id)


class _Follow:
    """One wait: the channel in use, the tracker, the reconnect counter."""

    def __init__(
        self, client: AsyncClient, job_id: str, on_progress: OnProgress | None,
        on_event: OnEvent | None,
    ) -> None:
        self.c = client
        self.job_id = job_id
        self.on_progress = on_progress
        self.on_event = on_event
        self.tracker = core.Tracker(job_id)
        self.channel: core.Channel = "sse" if client.channel == "auto" else client.channel
        self.etag: str | None = None
        self.failures = 0

    async def run(self) -> JobResultResponse:
        while not self.tracker.terminal:
            try:
                await self._round()
            except _Unsupported:
                self.channel = core.next_channel(self.channel)
            except httpx.TransportError as exc:  # a stream cut mid-body: resume it
                if not self.c.retry.should_retry(self.failures, exc=exc):
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                await _sleep(self.c.retry.backoff(self.failures))
                self.failures += 1
        if self.tracker.result is not None:  # sent by the stream
            return self.tracker.result
        return await self.c.result(self.job_id)

    async def _round(self) -> None:
        if self.channel == "sse":
            started = asyncio.get_running_loop().time()
            if not await self._sse() and not self.tracker.terminal:
                # Closed with nothing new: the server's connection cap, or an
                # ended job whose events are gone. The status tells which.
                pause = await self._poll(0)
                if asyncio.get_running_loop().time() - started < 1.0:
                    await _sleep(pause)
        else:
            pause = await self._poll(core.LONG_POLL_S if self.channel == "long_poll" else 0)
            if pause and not self.tracker.terminal:
                await _sleep(pause)

    async def _report(self, event: JobEvent | None, progress: core.Progress | None) -> None:
        if event is not None:
            await _call(self.on_event, event)
        if progress is not None:
            await _call(self.on_progress, progress)

    async def _sse(self) -> bool:
        """Read the event stream until it ends; whether anything new came."""
        headers = {"Accept": "text/event-stream"}
        if self.tracker.last_event_id:
            headers["Last-Event-ID"] = self.tracker.last_event_id
        request = self.c._http.build_request(
            "GET", core.job_path(self.job_id, "events"), headers=headers,
            timeout=httpx.Timeout(self.c.timeout, read=core.SSE_READ_TIMEOUT_S),
        )
        response = await self.c._send(request, stream=True)
        got = False
        try:
            if core.sse_unsupported(response):
                raise _Unsupported
            if not response.is_success:
                await response.aread()
                core.check(response)
            decoder = SSEDecoder()
            async for line in response.aiter_lines():
                event = decoder.feed(line)
                if (
                    event is None
                    or self.tracker.take_result(event)
                    or not self.tracker.is_new(event)
                ):
                    continue
                got, self.failures = True, 0
                await self._report(event, self.tracker.on_event(event))
                if self.tracker.terminal:
                    break
        finally:
            await response.aclose()
        return got

    async def _poll(self, wait: float) -> float:
        """One status request (a long-poll when `wait`); seconds to pause before the next."""
        headers = {"If-None-Match": self.etag} if wait and self.etag else {}
        started = asyncio.get_running_loop().time()
        try:
            response = await self.c._request(
                "GET", core.job_path(self.job_id, "status"),
                params={"wait": wait} if wait else None, headers=headers,
                timeout=self.c.timeout + wait,
            )
        except APIError as exc:
            if wait and exc.status_code in (400, 422):  # a server without long-poll
                raise _Unsupported from exc
            raise
        self.etag = response.headers.get("etag", self.etag)
        self.failures = 0
        progress = self.tracker.on_status(core.parse(JobStatusResponse, response))
        await self._report(None, progress)
        quick = asyncio.get_running_loop().time() - started < min(wait, 1.0)
        if wait and not (quick and progress is None):
            return 0.0  # a real long-poll: ask again at once
        return poll_interval(retry_after_of(response.headers))
