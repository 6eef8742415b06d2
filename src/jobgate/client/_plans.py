"""The client's requests as plans: one request with its retries, and each
endpoint. The drivers in `_sync.py` and `_async.py` run them; the rules
(what is retried, how long to wait, a deadline cutting it all short) are
written once, here and in `_transport.py`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from jobgate.client import _core as core
from jobgate.client._actions import Close, Plan, Send, Sleep
from jobgate.client._errors import JobNotDone, TransportError
from jobgate.client._tracker import Channel
from jobgate.client._transport import Deadline, Retry, retry_after_of
from jobgate.job import Priority
from jobgate.models import (
    JobListResponse,
    JobResultResponse,
    JobStatusResponse,
    JobSubmitResponse,
)

NO_DEADLINE = Deadline(None)
LIMIT_SLACK_S = 0.05
"""A bounded step may run this much past the deadline, so that the deadline,
not the step, is what a plan sees expire."""


@dataclass(frozen=True)
class Session:
    """What a plan knows of its client: routes, timeouts, retry rules, channel."""

    paths: core.Paths = field(default_factory=core.Paths)
    timeout: float = 30.0
    retry: Retry = field(default_factory=Retry)
    channel: Channel = "auto"
    clock: Callable[[], float] = time.monotonic

    def deadline(self, timeout: float | None) -> Deadline:
        return Deadline(timeout, clock=self.clock)


def limit_of(deadline: Deadline) -> float | None:
    left = deadline.left()
    return None if left is None else left + LIMIT_SLACK_S


def timeout_of(base: float, deadline: Deadline, read: float | None = None) -> httpx.Timeout:
    """httpx's timeouts for one request, none of them past the deadline."""
    limit = limit_of(deadline)
    whole = base if limit is None else min(base, limit)
    return httpx.Timeout(whole, read=whole if read is None else
                         (read if limit is None else min(read, limit)))


def send(
    s: Session, method: str, url: str, *, deadline: Deadline = NO_DEADLINE,
    stream: bool = False, read: float | None = None, params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None, json: Any = None,
) -> Plan[httpx.Response]:
    """Send with retries on network errors and 502/503/504/524; the last answer,
    unchecked. `read`: the read timeout, when it is not the client's."""
    attempt = 0
    while True:
        action = Send(method, url, timeout_of(s.timeout, deadline, read), params=params,
                      headers=headers, json=json, stream=stream, limit=limit_of(deadline))
        try:
            response: httpx.Response = yield action
        except (httpx.TransportError, TimeoutError) as exc:
            if deadline.expired or not s.retry.should_retry(attempt, exc=exc):
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            delay = s.retry.delay(attempt)
        else:
            if deadline.expired or not s.retry.should_retry(attempt, status=response.status_code):
                return response
            delay = s.retry.delay(attempt, retry_after_of(response.headers))
            yield Close(response)
        yield Sleep(deadline.clamp(delay))
        attempt += 1


def request(s: Session, method: str, url: str, **kw: Any) -> Plan[httpx.Response]:
    """`send`, and the answer's typed error if it is not a success."""
    response = yield from send(s, method, url, **kw)
    return core.check(response)


def submit(
    s: Session, body: BaseModel | Mapping[str, Any], priority: Priority | str | None,
    idempotency_key: str | None,
) -> Plan[JobSubmitResponse]:
    """Queue a job. All tries share one Idempotency-Key: one job at most."""
    response = yield from request(
        s, "POST", s.paths("submit"), json=core.submit_payload(body, priority),
        headers=core.idempotency_headers(idempotency_key),
    )
    return core.parse(JobSubmitResponse, response)


def status(s: Session, job_id: str, wait: float | None) -> Plan[JobStatusResponse]:
    response = yield from request(
        s, "GET", s.paths.job(job_id, "status"), params={"wait": wait} if wait else None,
        read=s.timeout + (wait or 0),
    )
    return core.parse(JobStatusResponse, response)


def result(s: Session, job_id: str) -> Plan[JobResultResponse]:
    response = yield from request(s, "GET", s.paths.job(job_id, "result"))
    if response.status_code == 202:
        raise JobNotDone(core.parse(JobStatusResponse, response))
    return core.parse(JobResultResponse, response)


def cancel(
    s: Session, job_id: str, deadline: Deadline = NO_DEADLINE
) -> Plan[JobStatusResponse]:
    response = yield from request(s, "POST", s.paths.job(job_id, "cancel"), deadline=deadline)
    return core.parse(JobStatusResponse, response)


def jobs(s: Session, limit: int, cursor: str | None) -> Plan[JobListResponse]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    response = yield from request(s, "GET", s.paths("jobs"), params=params)
    return core.parse(JobListResponse, response)
