"""The job endpoints of one job kind: submit, status, result, events, cancel, list.

Written once, mounted per kind (the multi-agent kind at /api/multi-agent).
No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sse_starlette import EventSourceResponse, ServerSentEvent

from jobgate import metrics, serde
from jobgate.api.auth import Owner
from jobgate.api.errors import NOT_FOUND_DETAIL
from jobgate.api.views import etag, result_view, retry_after, status_view
from jobgate.api.waiting import Waiters, wait_for_change
from jobgate.errors import JobNotFound
from jobgate.job import TERMINAL, Job, JobState, Priority, is_valid_job_id, us_to_datetime
from jobgate.models import (
    ErrorResponse,
    JobListResponse,
    JobResultResponse,
    JobStatusResponse,
    JobSubmitResponse,
)
from jobgate.services import Services
from jobgate.store.jobs import Enqueued, RawEvent, is_event_id

R = TypeVar("R", bound=BaseModel)
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)")
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorResponse} for c in (401, 404, 413, 422, 429, 503)
}


class SubmitBody(BaseModel, Generic[R]):
    model_config = ConfigDict(extra="forbid")
    request: R
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True)
class JobKind:
    """How one kind of job enters the engine."""

    name: str
    prefix: str
    request_model: type[BaseModel]
    prepare: Callable[[Any, str, Request], dict[str, Any]]  # request, owner → payload
    estimate: Callable[[Any], float | None]


def svc_of(request: Request) -> Services:
    svc: Services = request.app.state.svc
    return svc


def waiters_of(request: Request) -> Waiters:
    w: Waiters = request.app.state.waiters
    return w


def parse_prefer(header: str | None, cap: float) -> float | None:
    """Seconds from `Prefer: wait=N` (RFC 7240), capped; None when absent."""
    m = _PREFER_WAIT.search(header or "")
    return min(float(m.group(1)), cap) if m else None


def _urls(kind: JobKind, request: Request, job_id: str) -> dict[str, str]:
    base = f"{kind.prefix}/jobs/{job_id}"
    return {
        "status_url": f"{base}/status", "result_url": f"{base}/result",
        "events_url": f"{base}/events",
    }


def submit_body(kind: JobKind, request: Request, enq: Enqueued, estimate: float | None) -> Any:
    created = us_to_datetime(enq.created_us)
    assert created is not None
    urls = _urls(kind, request, enq.job_id)
    return JobSubmitResponse(
        job_id=enq.job_id,
        message="job already submitted with this Idempotency-Key" if enq.duplicate
        else "job accepted",
        created_at=created,
        estimated_completion_seconds=estimate,
        status_url=urls["status_url"], result_url=urls["result_url"],
        events_url=urls["events_url"],
    ).model_dump(mode="json")


def accepted(kind: JobKind, request: Request, enq: Enqueued, estimate: float | None) -> Response:
    body = submit_body(kind, request, enq, estimate)
    advice = retry_after(estimate, waiters_of(request).total)
    return JSONResponse(
        body, status_code=202,
        headers={"Location": body["status_url"], "Retry-After": str(advice)},
    )


def status_response(job: Job, now: int, request: Request, code: int = 200) -> Response:
    view = status_view(job, now)
    headers = {"ETag": etag(job), "Cache-Control": "no-store"}
    if view.status not in TERMINAL:
        headers["Retry-After"] = str(
            retry_after(view.estimated_remaining_seconds, waiters_of(request).total)
        )
    return JSONResponse(view.model_dump(mode="json"), status_code=code, headers=headers)


async def enqueue(
    kind: JobKind, svc: Services, owner: str, body: Any, priority: Priority,
    idempotency_key: str | None, request: Request,
) -> tuple[Enqueued, float | None]:
    payload = kind.prepare(body, owner, request)
    estimate = kind.estimate(body)
    enq = await svc.store.enqueue(
        kind.name, owner, payload, priority=priority,
        idempotency_key=idempotency_key, estimate_s=estimate,
    )
    if not enq.duplicate:
        metrics.JOBS_SUBMITTED.labels(kind.name, priority.value).inc()
    return enq, estimate


def job_router(kind: JobKind) -> APIRouter:  # noqa: C901 - one closure per endpoint
    router = APIRouter(prefix=kind.prefix, tags=[kind.name], responses=ERRORS)
    Body: Any = SubmitBody[kind.request_model]  # type: ignore[name-defined]

    @router.post(
        "/submit", status_code=202, response_model=JobSubmitResponse,
        responses={200: {"model": JobResultResponse}},
    )
    async def submit(
        body: Body,
        request: Request,
        owner: Owner,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        prefer: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        """Queue a job and answer at once (202), or with `Prefer: wait=N` up to N s."""
        svc = svc_of(request)
        enq, estimate = await enqueue(
            kind, svc, owner, body.request, body.priority, idempotency_key, request
        )
        wait = parse_prefer(prefer, svc.settings.long_poll_max_s)
        if wait:
            with waiters_of(request).waiting("long_poll"):
                job, _ = await wait_for_change(
                    svc, enq.job_id, owner, wait, None, terminal_only=True
                )
            if job.terminal:
                return JSONResponse(
                    result_view(job).model_dump(mode="json"),
                    headers={"Preference-Applied": f"wait={int(wait)}"},
                )
        return accepted(kind, request, enq, estimate)

    @router.get("/jobs/{job_id}/status", response_model=JobStatusResponse)
    async def status(
        job_id: str,
        request: Request,
        owner: Owner,
        wait: Annotated[float, Query(ge=0, le=50)] = 0,
        if_none_match: Annotated[str | None, Header(max_length=100)] = None,
    ) -> Response:
        """The job's status; `?wait=S` returns as soon as it changes (long-poll)."""
        svc = svc_of(request)
        if wait <= 0:
            job, now = await svc.store.get_owned(job_id, owner)
            waiters_of(request).polled(job_id)
            return status_response(job, now, request)
        with waiters_of(request).waiting("long_poll"):
            job, now = await wait_for_change(svc, job_id, owner, wait, if_none_match)
        return status_response(job, now, request)

    @router.get(
        "/jobs/{job_id}/result", response_model=JobResultResponse,
        responses={202: {"model": JobStatusResponse}},
    )
    async def result(job_id: str, request: Request, owner: Owner) -> Response:
        """The result once the job has ended; 202 with its status before."""
        job, now = await svc_of(request).store.get_owned(job_id, owner)
        if not job.terminal:
            return status_response(job, now, request, code=202)
        return JSONResponse(result_view(job).model_dump(mode="json"))

    @router.post("/jobs/{job_id}/cancel", response_model=JobStatusResponse)
    async def cancel(job_id: str, request: Request, owner: Owner) -> Response:
        """Cancel the job: a pending job at once, a running one within a second."""
        svc = svc_of(request)
        if not is_valid_job_id(job_id):
            raise JobNotFound(job_id)
        await svc.store.cancel(job_id, owner)
        job, now = await svc.store.get_owned(job_id, owner)
        return status_response(job, now, request)

    @router.get("/jobs", response_model=JobListResponse)
    async def list_jobs(
        request: Request,
        owner: Owner,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(pattern=r"^\d{1,20}$")] = None,
    ) -> JobListResponse:
        """The caller's jobs, newest first."""
        svc = svc_of(request)
        jobs, nxt, now = await svc.store.list_jobs(
            owner, limit, int(cursor) if cursor is not None else None
        )
        return JobListResponse(
            jobs=[status_view(j, now) for j in jobs],
            next=str(nxt) if nxt is not None else None,
        )

    @router.get(
        "/jobs/{job_id}/events",
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(
        job_id: str,
        request: Request,
        owner: Owner,
        last_event_id: Annotated[str | None, Header(max_length=50)] = None,
    ) -> EventSourceResponse:
        """The job's event log as Server-Sent Events; resume with `Last-Event-ID`."""
        svc = svc_of(request)
        await svc.store.get_owned(job_id, owner)  # 404 before the stream starts
        if last_event_id is not None and not is_event_id(last_event_id):
            return JSONResponse(  # type: ignore[return-value]
                {"detail": "Last-Event-ID is not an event id of this API",
                 "code": "invalid_request"}, status_code=422,
            )
        stream = event_stream(svc, waiters_of(request), job_id, owner, last_event_id)
        return EventSourceResponse(
            # At shutdown the stream ends itself (Notifier.close_waits); the grace
            # keeps sse-starlette from cutting it first.
            stream, ping=svc.settings.sse_heartbeat_s, shutdown_grace_period=2.0,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


def _is_terminal(etype: str, data: str) -> bool:
    return etype == "state" and serde.loads(data).get("status") in TERMINAL


async def _next_events(
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
        # lands with the state, so one more read has it if so.
        return await svc.store.raw_events_after(job_id, last) or None
    return batch


async def _result_event(svc: Services, job_id: str) -> ServerSentEvent | None:
    """The body of GET /result as a `result` event (no id: not part of the log).

    Sent just before the terminal event, it spares a waiting client its last
    request, and a client that stops at the terminal event has it already.
    """
    job = await svc.store.get(job_id)
    if job is None or not job.terminal:
        return None
    return ServerSentEvent(data=result_view(job).model_dump_json(), event="result")


async def event_stream(
    svc: Services, waiters: Waiters, job_id: str, owner: str, last: str | None
) -> AsyncIterator[ServerSentEvent]:
    """Events after `last`, then new ones as they land; ends after the terminal
    event (with the result before it), or at the connection cap (the client
    resumes with Last-Event-ID)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.sse_max_connection_s
    with waiters.waiting("sse"), svc.notifier.watch(job_id) as w:
        while (batch := await _next_events(svc, job_id, owner, last)) is not None:
            for eid, etype, data in batch:
                last = eid
                event = ServerSentEvent(data=data, event=etype, id=eid)
                if _is_terminal(etype, data):
                    if (result := await _result_event(svc, job_id)) is not None:
                        yield result
                    yield event
                    return
                yield event
            left = deadline - loop.time()
            if left <= 0 or svc.notifier.closing:
                return
            if len(batch) < 500:
                await w.wait(left)


__all__ = ["NOT_FOUND_DETAIL", "JobKind", "JobState", "job_router"]
