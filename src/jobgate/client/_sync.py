"""`Client`: the blocking SDK, a driver of the plans in `_plans.py`,
`_follow.py` and `_watch.py` (see `_actions.py` for why). It decides
nothing; it performs each action with httpx and websockets' sync client."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
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
_sleep = time.sleep  # one name for every pause, so tests can record them


class Client:
    """Talks to a jobgate server over HTTP; `base_url`/`token` default to
    JOBGATE_URL/JOBGATE_TOKEN, `prefix` is where the job routes are mounted.
    Use as `with Client() as c: ...`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        retry: Retry | None = None,
        channel: Channel = "auto",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.base_url, token = core.resolve(base_url, token)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.channel: Channel = channel
        self._session = _plans.Session(core.Paths(prefix), timeout, self.retry, channel)
        self._headers = core.default_headers(token, headers)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the endpoints ---------------------------------------------------------

    def submit(
        self,
        request: BaseModel | Mapping[str, Any],
        *,
        priority: Priority | str | None = None,
        idempotency_key: str | None = None,
    ) -> JobSubmitResponse:
        """Queue a job (`request`: a `MultiAgentRequest` or a dict). All tries of
        this call share one Idempotency-Key: one job at most."""
        return self._run(_plans.submit(self._session, request, priority, idempotency_key))

    def status(self, job_id: str, *, wait: float | None = None) -> JobStatusResponse:
        """The job's status; with `wait` (≤ 50 s) it answers as soon as the job changes."""
        return self._run(_plans.status(self._session, job_id, wait))

    def result(self, job_id: str) -> JobResultResponse:
        """The ended job's result or error; `JobNotDone` while it runs."""
        return self._run(_plans.result(self._session, job_id))

    def cancel(self, job_id: str) -> JobStatusResponse:
        return self._run(_plans.cancel(self._session, job_id))

    def jobs(self, *, limit: int = 20, cursor: str | None = None) -> JobListResponse:
        """The caller's jobs, newest first; pass `next` back as `cursor` for more."""
        return self._run(_plans.jobs(self._session, limit, cursor))

    def run(
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
        job = self.submit(request, priority=priority, idempotency_key=idempotency_key)
        result = self.wait(
            job.job_id, on_progress=on_progress, on_event=on_event, timeout=timeout,
            cancel_on_abort=cancel_on_abort,
        )
        return MultiAgentResponse.model_validate(result.result)

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
        return self._run(_follow.wait(
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
    ) -> Iterator[JobUpdate]:
        """Follow many jobs on one connection; each event, result and error as a
        `JobUpdate`. Ends when every listed job has ended; with `all=True`
        (every job of the caller, also those submitted later) it runs until
        `timeout` or until the caller stops iterating.

        A WebSocket when the server takes one, else the user-wide SSE feed;
        either resumes each job after its last event when the connection drops.
        """
        plan = _watch.watch(self._session, self._headers, self.base_url, job_ids,
                            every=all, timeout=timeout, transport=transport)
        return self._iterate(plan)

    # -- the driver ------------------------------------------------------------

    def _run(self, plan: a.Plan[T]) -> T:
        step = a.Stepper(plan)
        try:
            if self._advance(step) is not _DONE:
                raise TypeError("this plan emits items; iterate it")
            return step.result  # type: ignore[no-any-return]
        finally:
            _close_all(step)

    def _iterate(self, plan: a.Plan[Any]) -> Iterator[Any]:
        step = a.Stepper(plan)
        try:
            while (item := self._advance(step)) is not _DONE:
                yield item
        finally:
            _close_all(step)

    def _advance(self, step: a.Stepper) -> Any:
        """Perform actions until the plan emits an item (returned) or ends (`_DONE`)."""
        while (action := step.next()) is not None:
            if isinstance(action, a.Emit):
                step.done(action, None)
                return action.item
            try:
                step.done(action, self._perform(action))
            except BaseException as exc:  # the plan decides what to do; Ctrl-C included
                step.failed(exc)
        return _DONE

    def _perform(self, action: a.Action) -> Any:
        return _PERFORM[type(action)](self, action)

    def _send(self, action: a.Send) -> httpx.Response:
        request = self._http.build_request(
            action.method, action.url, params=action.params, headers=action.headers,
            json=action.json, timeout=action.timeout,
        )
        return self._http.send(request, stream=action.stream)


def _connect(action: a.Connect) -> object:
    from websockets.sync.client import connect

    socket = connect(action.url, additional_headers=dict(action.headers),
                     open_timeout=action.limit, close_timeout=1)
    return socket.__enter__()  # held open by the plan, closed by its `Close` action


def _call(action: a.Call) -> object:
    return action.callback(action.arg)


_DONE = object()


def _close(resource: object) -> None:
    with contextlib.suppress(Exception):  # best effort: the peer may be gone
        resource.close()  # type: ignore[attr-defined]


def _close_all(step: a.Stepper) -> None:
    for resource in step.left_open():
        _close(resource)


_PERFORM: dict[type, Callable[[Client, Any], Any]] = {
    a.Send: Client._send,
    a.Read: lambda c, x: x.response.read(),
    a.Lines: lambda c, x: x.response.iter_lines(),
    a.Next: lambda c, x: next(x.lines, None),
    a.Connect: lambda c, x: _connect(x),
    a.Transmit: lambda c, x: x.socket.send(x.text),
    a.Receive: lambda c, x: x.socket.recv(timeout=x.limit),
    a.Close: lambda c, x: _close(x.resource),
    a.Sleep: lambda c, x: _sleep(x.seconds),
    a.Call: lambda c, x: _call(x),
}
"""What each action is, blocking."""
