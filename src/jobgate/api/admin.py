"""The operators' API at /api/admin: queues, workers, every user's jobs, retry, cancel.

Only for tokens whose `scope` holds `jobgate:admin` (any sign-in method);
anyone else signed in gets 403, no token 401. Each read is a bounded range
of one Redis key plus a pipeline of job hashes: no KEYS or SCAN.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from jobgate import metrics
from jobgate.api.admin_views import (
    AdminJob,
    AdminJobDetail,
    AdminJobList,
    ListState,
    QueuesResponse,
    WorkersResponse,
    belongs,
    is_job_hash,
    job_view,
    queues_view,
    worker_view,
)
from jobgate.api.auth import CurrentPrincipal, Principal
from jobgate.api.deps import Svc
from jobgate.errors import Forbidden, JobConflict, JobNotFound
from jobgate.job import ACTIVE, Job, JobState, is_valid_job_id, us_to_datetime
from jobgate.models import ErrorResponse
from jobgate.services import Services
from jobgate.store.jobs import Enqueued
from jobgate.store.keys import retry_idempotency
from jobgate.store.operators import IdPage

PREFIX = "/api/admin"
OPERATOR_CANCEL = "cancelled by an operator"
log = logging.getLogger(__name__)


async def require_operator(principal: CurrentPrincipal) -> Principal:
    """The caller, if an operator; 403 for anyone else signed in."""
    if not principal.is_admin:
        raise Forbidden("this endpoint is for operators: it needs a token whose scope "
                        "includes jobgate:admin")
    return principal


async def no_store(response: Response) -> None:
    """Every user's jobs: nothing of them may sit in a cache."""
    response.headers["Cache-Control"] = "no-store"


Operator = Annotated[Principal, Depends(require_operator)]
Cursor = Annotated[str | None, Query(pattern=r"^\d{1,20}$", description="`next` of the "
                                     "page before")]


async def _raw(svc: Services, job_id: str) -> dict[str, str]:
    """Any user's job hash; 404 for unknown, malformed or expired ids alike."""
    if not is_valid_job_id(job_id):
        raise JobNotFound(job_id)
    (raw,) = await svc.store.raw_jobs([job_id])
    if not is_job_hash(raw):
        raise JobNotFound(job_id)
    return raw


async def _detail(svc: Services, raw: dict[str, str]) -> AdminJobDetail:
    (retried,) = await svc.store.retried_as([(raw["id"], raw.get("owner", ""))])
    view = job_view(raw, await _now(svc), retried_as=retried, detail=True)
    assert isinstance(view, AdminJobDetail)
    return view


async def _now(svc: Services) -> int:
    return await svc.store.server_time()


async def queues(svc: Svc) -> QueuesResponse:
    """Queue depth by priority, retries waiting (delayed), jobs running, jobs
    orphaned (lease lapsed, not yet reclaimed) and failed jobs still kept."""
    return queues_view(await svc.store.queue_counts())


async def workers(svc: Svc) -> WorkersResponse:
    """Live workers, each as it said on its last heartbeat; one that stopped
    beating leaves the list within WORKER_TTL_S."""
    cards, now = await svc.store.workers()
    views = sorted((worker_view(c, ttl, now) for c, ttl in cards), key=lambda w: w.id)
    at = us_to_datetime(now)
    assert at is not None
    return WorkersResponse(workers=views, checked_at=at)


async def _page(svc: Services, state: ListState, limit: int, cursor: str | None) -> IdPage:
    n = int(cursor) if cursor is not None else None
    if state is ListState.FAILED:
        return await svc.store.dead_page(before_us=n, limit=limit)
    if state is ListState.PENDING:
        return await svc.store.pending_page(offset=n or 0, limit=limit)
    return await svc.store.lease_page(
        lapsed=state is ListState.ORPHANED, offset=n or 0, limit=limit)


def _next(state: ListState, page: IdPage, cursor: str | None) -> str | None:
    """Failed jobs page by end time (stable); the live sets by position."""
    if not page.more or not page.ids:
        return None
    if state is ListState.FAILED:
        return str(page.ids[-1][1])
    return str(int(cursor or 0) + len(page.ids))


async def list_jobs(
    svc: Svc,
    state: ListState,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> AdminJobList:
    """Every user's jobs in one state. `running` carries progress and the worker;
    `orphaned` jobs lost their worker and wait for another to reclaim them;
    `failed` carry their error, newest first; `pending` in the order workers
    take them. A page may hold fewer than `limit` jobs (one that moved on
    between reads is left out); `next` says whether more follow."""
    page = await _page(svc, state, limit, cursor)
    raws = await svc.store.raw_jobs([job_id for job_id, _ in page.ids])
    kept = [
        (raw, score) for raw, (_, score) in zip(raws, page.ids, strict=True)
        if is_job_hash(raw) and belongs(state, Job.from_hash(raw), page.now_us)
    ]
    retried: list[str | None] = [None] * len(kept)
    if state is ListState.FAILED and kept:
        retried = await svc.store.retried_as([(r["id"], r.get("owner", "")) for r, _ in kept])
    jobs = [
        job_view(raw, page.now_us, retried_as=again,
                 due_us=score if state is ListState.PENDING else None)
        for (raw, score), again in zip(kept, retried, strict=True)
    ]
    return AdminJobList(state=state, jobs=jobs, next=_next(state, page, cursor))


async def get_job(job_id: str, svc: Svc) -> AdminJobDetail:
    """Any user's job in full, while Valkey keeps it (the result TTL after it ends)."""
    return await _detail(svc, await _raw(svc, job_id))


async def retry(job_id: str, svc: Svc, operator: Operator, response: Response) -> AdminJobDetail:
    """Run a failed job again, as a **new job** with its own id (202; 200 when
    this job was already retried: the same new job, never a second one).

    Why not the same id with a new attempt: terminal states never change (an
    engine invariant). A client still following the old id has seen, or
    will see, its final answer, and must not watch it turn back into
    `pending`; the history database keeps the failure as it happened. The
    two are linked both ways: the new job's `retry_of`, the old job's
    `retried_as`. The new job has the same owner (who sees it in their own
    list), request, priority, timeout and attempt budget.
    """
    raw = await _raw(svc, job_id)
    old = Job.from_hash(raw)
    if old.state is not JobState.FAILED:
        raise JobConflict(f"only a failed job can be retried; this one is {old.state.value}")
    if old.payload is None:
        raise JobConflict("this job's request is no longer kept, so it cannot be run again")
    enq = await _enqueue_again(svc, old, raw)
    await svc.store.mark_retry_of(enq.job_id, old.id)
    if not enq.duplicate:
        metrics.JOBS_SUBMITTED.labels(old.kind, old.priority.value).inc()
        log.info("retried by operator %s as job %s", operator.user_id, enq.job_id,
                 extra={"job_id": old.id, "owner": old.owner, "kind": old.kind})
    response.status_code = 200 if enq.duplicate else 202
    response.headers["Location"] = f"{PREFIX}/jobs/{enq.job_id}"
    return await _detail(svc, await _raw(svc, enq.job_id))


async def _enqueue_again(svc: Services, old: Job, raw: dict[str, str]) -> Enqueued:
    timeout = float(raw["timeout_s"]) if raw.get("timeout_s") else None
    return await svc.store.enqueue(
        old.kind, old.owner, old.payload, priority=old.priority,
        idempotency_key=retry_idempotency(old.id), estimate_s=old.estimate_s,
        timeout_s=timeout, max_attempts=old.max_attempts,
    )


async def cancel(job_id: str, svc: Svc, operator: Operator) -> AdminJobDetail:
    """Cancel any user's job: a pending one at once, a running one within a
    heartbeat (its worker stops the handler). Its status says "cancelled by
    an operator". 409 when it has already ended."""
    raw = await _raw(svc, job_id)
    job = Job.from_hash(raw)
    if job.state not in ACTIVE:
        raise JobConflict(f"the job has already ended ({job.state.value}); nothing to cancel")
    found = await svc.store.cancel(job.id, job.owner, OPERATOR_CANCEL)
    if found not in ACTIVE:
        raise JobConflict(f"the job has already ended ({found}); nothing to cancel")
    log.info("cancelled by operator %s", operator.user_id,
             extra={"job_id": job.id, "owner": job.owner, "kind": job.kind})
    return await _detail(svc, await _raw(svc, job_id))


ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorResponse} for c in (401, 403, 422, 503)
}
ONE_JOB: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}
ACTION: dict[int | str, dict[str, Any]] = {**ONE_JOB, 409: {"model": ErrorResponse}}


def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["admin"], responses=ERRORS,
                  dependencies=[Depends(require_operator), Depends(no_store)])
    r.add_api_route("/queues", queues, response_model=QueuesResponse)
    r.add_api_route("/workers", workers, response_model=WorkersResponse)
    r.add_api_route("/jobs", list_jobs, response_model=AdminJobList)
    r.add_api_route("/jobs/{job_id}", get_job, response_model=AdminJobDetail, responses=ONE_JOB)
    r.add_api_route(
        "/jobs/{job_id}/retry", retry, methods=["POST"], response_model=AdminJobDetail,
        status_code=202, responses={**ACTION, 200: {"model": AdminJobDetail},
                                    429: {"model": ErrorResponse}},
    )
    r.add_api_route("/jobs/{job_id}/cancel", cancel, methods=["POST"],
                    response_model=AdminJobDetail, responses=ACTION)
    return r


__all__ = ["AdminJob", "Operator", "require_operator", "router"]
