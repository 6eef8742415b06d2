"""`AsyncClient`: the SDK for asyncio code, a driver of the same plans as
`Client` (see `_actions.py`). It performs each action with httpx's and
websockets' asyncio clients; callbacks may be plain functions or coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from jobgate.client import _actions as a
from jobgate.client import _core as core
from jobgate.client import _follow, _plans, _watch
from jobgate.client._follow import OnEvent, OnProgress
from jobgate.client._models import MultiAgentResponse
from jobgate.client._settings import DEFAULT_PREFIX
from jobgate.client._tracker import Channel
from jobgate.client._transport import Retry
from jobgate.client._update import JobUpdate
from jobgate.job import Priority
from jobgate.models import JobListResponse, JobResultResponse, JobStatusResponse, JobSubmitResponse

T = TypeVar("T")
_sleep = asyncio.sleep  # one name for every pause, so tests can record them


class AsyncClient:
    """Talks to a jobgate server over HTTP; `base_url`/`token` default to
    JOBGATE_URL/JOBGATE_TOKEN, `prefix` is where the job routes are mounted.
    Use as `async with AsyncClient() as c: ...`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        retry: Retry | None = None,
        channel: Channel = "auto",
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.base_url, token = core.resolve(base_url, token)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.channel: Channel = channel
        self._session = _plans.Session(core.Paths(prefix), timeout, self.retry, channel)
        self._headers = core.default_headers(token, headers)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the endpoints ---------------------------------------------------------

    async def submit(
        self,
        request: BaseModel | Mapping[str, Any],
        *,
        priority: Priority | str | None = None,
        idempotency_key: str | None = None,
    ) -> JobSubmitResponse:
        """Queue a job (`request`: a `MultiAgentRequest` or a dict). All tries of
        this call share one Idempotency-Key: one job at most."""
        return await self._run(_plans.submit(self._session, request, priority, idempotency_key))

    async def status(self, job_id: str, *, wait: float | None = None) -> JobStatusResponse:
        """The job's status; with `wait` (≤ 50 s) it answers as soon as the job changes."""
        return await self._run(_plans.status(self._session, job_id, wait))

    async def result(self, job_id: str) -> JobResultResponse:
        """The ended job's result or error; `JobNotDone` while it runs."""
        return await self._run(_plans.result(self._session, job_id))

    async def cancel(self, job_id: str) -> JobStatusResponse:
        return await self._run(_plans.cancel(self._session, job_id))

    async def jobs(self, *, limit: int = 20, cursor: str | None = None) -> JobListResponse:
        """The caller's jobs, newest first; pass `next` back as `cursor` for more."""
        return await self._run(_plans.jobs(self._session, limit, cursor))

    async def run(
        self,
        request: BaseModel | Mapping[str, Any],
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
        return await self._run(_follow.wait(
            self._session, job_id, on_progress=on_progress, on_event=on_event, timeout=timeout,
            cancel_on_abort=cancel_on_abort,
        ))

    def watch(
        self,
        job_ids: Iterable[str] = (),
        *,
        all: bool = False,
        timeout: float | None = None,
        transport: _watch.WatchTransport = "auto",
    ) -> AsyncIterator[JobUpdate]:
        """Follow many jobs on one connection: `async for update in c.watch(ids)`.
        The same as `Client.watch`; wrap it in `contextlib.aclosing` to stop
        early and close the socket at once."""
        plan = _watch.watch(self._session, self._headers, self.base_url, job_ids,
                            every=all, timeout=timeout, transport=transport)
        return self._iterate(plan)

    # -- the driver ------------------------------------------------------------

    async def _run(self, plan: a.Plan[T]) -> T:
        step = a.Stepper(plan)
        try:
            if await self._advance(step) is not _DONE:
                raise TypeError("this plan emits items; iterate it")
            return step.result  # type: ignore[no-any-return]
        finally:
            await _close_all(step)

    async def _iterate(self, plan: a.Plan[Any]) -> AsyncIterator[Any]:
        step = a.Stepper(plan)
        try:
            while (item := await self._advance(step)) is not _DONE:
                yield item
        finally:
            await _close_all(step)

    async def _advance(self, step: a.Stepper) -> Any:
        """Perform actions until the plan emits an item (returned) or ends (`_DONE`)."""
        while (action := step.next()) is not None:
            if isinstance(action, a.Emit):
                step.done(action, None)
                return action.item
            try:
                step.done(action, await self._perform(action))
            except BaseException as exc:  # the plan decides what to do; cancellation included
                step.failed(exc)
        return _DONE

    async def _perform(self, action: a.Action) -> Any:
        limit = getattr(action, "limit", None)
        async with asyncio.timeout(limit):
            return await _PERFORM[type(action)](self, action)

    async def _send(self, action: a.Send) -> httpx.Response:
        request = self._http.build_request(
            action.method, action.url, params=action.params, headers=action.headers,
            json=action.json, timeout=action.timeout,
        )
        return await self._http.send(request, stream=action.stream)


async def _connect(action: a.Connect) -> object:
    from websockets.asyncio.client import connect

    return await connect(action.url, additional_headers=dict(action.headers),
                         open_timeout=action.limit, close_timeout=1)


async def _call(action: a.Call) -> object:
    value = action.callback(action.arg)
    return await value if inspect.isawaitable(value) else value


async def _value(value: object) -> object:
    return value


_DONE = object()


async def _close(resource: object) -> None:
    with contextlib.suppress(Exception):  # best effort: the peer may be gone
        if isinstance(resource, httpx.Response):
            await resource.aclose()
        else:
            await resource.close()  # type: ignore[attr-defined]


async def _close_all(step: a.Stepper) -> None:
    for resource in step.left_open():
        await _close(resource)


_PERFORM: dict[type, Callable[[AsyncClient, Any], Awaitable[Any]]] = {
    a.Send: AsyncClient._send,
    a.Read: lambda c, x: x.response.aread(),
    a.Lines: lambda c, x: _value(x.response.aiter_lines()),
    a.Next: lambda c, x: anext(x.lines, None),
    a.Connect: lambda c, x: _connect(x),
    a.Transmit: lambda c, x: x.socket.send(x.text),
    a.Receive: lambda c, x: x.socket.recv(),
    a.Close: lambda c, x: _close(x.resource),
    a.Sleep: lambda c, x: _sleep(x.seconds),
    a.Call: lambda c, x: _call(x),
}
"""What each action is, with asyncio; an action's `limit` bounds it (`_perform`)."""
