"""The job endpoints every kind shares (status, result, cancel, list, events)
and the submit steps a kind's own endpoints build on.

Plain module-level endpoints with typed dependencies; `add_routes` mounts
them on a kind's router (the multi-agent kind at /api/multi-agent).
No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

import re
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sse_starlette import EventSourceResponse

from jobgate import metrics
from jobgate.api.auth import Owner
from jobgate.api.deps import Hist, JobKind, Svc, Waiting
from jobgate.api.stream import event_stream
from jobgate.api.user_feed import user_events
from jobgate.api.views import etag, result_view, retry_after, status_view
from jobgate.api.waiting import Waiters, wait_for_change
from jobgate.api.ws import socket
from jobgate.errors import InvalidRequest, JobNotFound
from jobgate.history import cursor as history_cursor
from jobgate.history.db import History
from jobgate.history.reads import as_filter, find_job, list_page
from jobgate.job import TERMINAL, Job, JobState, Priority, is_valid_job_id, us_to_datetime
from jobgate.models import (
    ErrorResponse,
    JobListResponse,
    JobResultResponse,
    JobStatusResponse,
    JobSubmitResponse,
)
from jobgate.services import Services
from jobgate.store.jobs import Enqueued, is_event_id

R = TypeVar("R", bound=BaseModel)
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)")
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorResponse} for c in (401, 404, 413, 422, 429, 503)
}


class SubmitBody(BaseModel, Generic[R]):
    model_config = ConfigDict(extra="forbid")
    request: R
    priority: Priority = Priority.NORMAL


def parse_prefer(header: str | None, cap: float) -> float | None:
    """Seconds from `Prefer: wait=N` (RFC 7240), capped; None when absent."""
    m = _PREFER_WAIT.search(header or "")
    return min(float(m.group(1)), cap) if m else None


async def enqueue(
    kind: JobKind, svc: Services, owner: str, body: BaseModel, priority: Priority,
    idempotency_key: str | None, request: Request,
) -> tuple[Enqueued, float | None]:
    payload = kind.prepare(body, owner, request)
    estimate = kind.estimate(body, svc.settings)
    enq = await svc.store.enqueue(
        kind.name, owner, payload, priority=priority,
        idempotency_key=idempotency_key, estimate_s=estimate,
    )
    if not enq.duplicate:
        metrics.JOBS_SUBMITTED.labels(kind.name, priority.value).inc()
    return enq, estimate


def accepted(kind: JobKind, enq: Enqueued, estimate: float | None, waiters: Waiters) -> Response:
    """202 with where to look next (`Location`) and when (`Retry-After`)."""
    created = us_to_datetime(enq.created_us)
    assert created is not None
    base = f"{kind.prefix}/jobs/{enq.job_id}"
    body = JobSubmitResponse(
        job_id=enq.job_id,
        message="job already submitted with this Idempotency-Key" if enq.duplicate
        else "job accepted",
        created_at=created,
        estimated_completion_seconds=estimate,
        status_url=f"{base}/status", result_url=f"{base}/result", events_url=f"{base}/events",
    )
    advice = retry_after(estimate, waiters.total)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=202,
        headers={"Location": body.status_url, "Retry-After": str(advice)},
    )


def result_response(job: Job, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(result_view(job).model_dump(mode="json"), headers=headers)


def status_response(job: Job, now: int, waiters: Waiters, code: int = 200) -> Response:
    view = status_view(job, now)
    headers = {"ETag": etag(job), "Cache-Control": "no-store"}
    if view.status not in TERMINAL:
        headers["Retry-After"] = str(retry_after(view.estimated_remaining_seconds, waiters.total))
    return JSONResponse(view.model_dump(mode="json"), status_code=code, headers=headers)


async def archived(history: History, job_id: str, owner: str, missing: JobNotFound) -> Job:
    """Once Valkey has let a job go, the owner's job from history, else the same 404."""
    job = await find_job(history, job_id, owner) if is_valid_job_id(job_id) else None
    if job is None:
        raise missing
    return job


async def get_owned(svc: Services, history: History, job_id: str, owner: str) -> tuple[Job, int]:
    try:
        return await svc.store.get_owned(job_id, owner)
    except JobNotFound as exc:
        job = await archived(history, job_id, owner, exc)
        return job, job.completed_us or 0


async def status(
    job_id: str,
    owner: Owner,
    svc: Svc,
    history: Hist,
    waiters: Waiting,
    wait: Annotated[float, Query(ge=0, le=50)] = 0,
    if_none_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """The job's status; `?wait=S` returns as soon as it changes (long-poll)."""
    if wait <= 0:
        job, now = await get_owned(svc, history, job_id, owner)
        waiters.polled(job_id)
        return status_response(job, now, waiters)
    try:
        with waiters.waiting("long_poll"):
            job, now = await wait_for_change(svc, job_id, owner, wait, if_none_match)
    except JobNotFound as exc:  # ended and gone from Valkey: nothing more will change
        job = await archived(history, job_id, owner, exc)
        now = job.completed_us or 0
    return status_response(job, now, waiters)


async def result(job_id: str, owner: Owner, svc: Svc, history: Hist, waiters: Waiting) -> Response:
    """The result once the job has ended; 202 with its status before."""
    job, now = await get_owned(svc, history, job_id, owner)
    if not job.terminal:
        return status_response(job, now, waiters, code=202)
    return result_response(job)


async def cancel(
    job_id: str, owner: Owner, svc: Svc, history: Hist, waiters: Waiting
) -> Response:
    """Cancel the job: a pending job at once, a running one within a second."""
    if not is_valid_job_id(job_id):
        raise JobNotFound(job_id)
    try:
        await svc.store.cancel(job_id, owner)
    except JobNotFound as exc:  # archived and gone from Valkey: ended, as a cancel finds it
        await archived(history, job_id, owner, exc)
    job, now = await get_owned(svc, history, job_id, owner)
    return status_response(job, now, waiters)


async def list_jobs(
    owner: Owner,
    svc: Svc,
    history: Hist,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description=(
        "`next` of the previous page, sent with the same filters"))] = None,
    status: Annotated[JobState | None, Query()] = None,
    mode: Annotated[str | None, Query(max_length=32)] = None,
    product_id: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[datetime | None, Query(description="created at or after")] = None,
    until: Annotated[datetime | None, Query(description="created before")] = None,
) -> JobListResponse:
    """The caller's jobs, newest first: live ones from Valkey and ended ones from
    history in one order; `next` is an opaque cursor (null on the last page)."""
    after = history_cursor.decode(cursor) if cursor is not None else None
    f = as_filter(status, mode, product_id, since, until)
    page = await list_page(svc.store, history, owner, f, after, limit)
    return JobListResponse(jobs=[status_view(j, page.now_us) for j in page.jobs], next=page.next)


async def events(
    job_id: str,
    owner: Owner,
    svc: Svc,
    waiters: Waiting,
    last_event_id: Annotated[str | None, Header(max_length=50)] = None,
) -> EventSourceResponse:
    """The job's event log as Server-Sent Events; resume with `Last-Event-ID`."""
    await svc.store.get_owned(job_id, owner)  # 404 before the stream starts
    if last_event_id is not None and not is_event_id(last_event_id):
        raise InvalidRequest("Last-Event-ID is not an event id of this API")
    return EventSourceResponse(
        event_stream(svc, waiters, job_id, owner, last_event_id),
        # At shutdown the stream ends itself (Notifier.close_waits); the grace
        # keeps sse-starlette from cutting it first.
        ping=svc.settings.sse_heartbeat_s, shutdown_grace_period=2.0,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def add_routes(router: APIRouter) -> None:
    """Mount the shared job endpoints on a kind's router."""
    router.add_api_route("/jobs/{job_id}/status", status, response_model=JobStatusResponse)
    router.add_api_route(
        "/jobs/{job_id}/result", result, response_model=JobResultResponse,
        responses={202: {"model": JobStatusResponse}},
    )
    router.add_api_route(
        "/jobs/{job_id}/cancel", cancel, methods=["POST"], response_model=JobStatusResponse,
    )
    router.add_api_route("/jobs", list_jobs, response_model=JobListResponse)
    router.add_api_route(
        "/jobs/{job_id}/events", events, response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    # Every job of the caller on one connection (docs/websocket.md).
    router.add_api_websocket_route("/ws", socket)
    router.add_api_route(
        "/events", user_events, response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )


def kind_router(kind: JobKind) -> APIRouter:
    return APIRouter(prefix=kind.prefix, tags=[kind.name], responses=ERRORS)
