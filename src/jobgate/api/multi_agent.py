"""The multi-agent kind at /api/multi-agent, and the old synchronous /process.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse

from jobgate.agents.credentials import with_sealed_key
from jobgate.agents.handler import KIND, estimate_seconds
from jobgate.agents.models import MultiAgentRequest, MultiAgentResponse
from jobgate.api import jobs
from jobgate.api.auth import Owner
from jobgate.api.deps import JobKind, Svc, Waiting, require_json
from jobgate.api.views import job_error
from jobgate.api.waiting import wait_for_change
from jobgate.errors import InvalidRequest, JobCancelled, JobFailed
from jobgate.job import JobState, Priority
from jobgate.models import ErrorResponse, JobResultResponse, JobSubmitResponse

PREFIX = "/api/multi-agent"


def prepare(body: MultiAgentRequest, owner: str, request: Request) -> dict[str, Any]:
    """The job payload: `user_id` is the token's subject, never the client's word.

    A caller's own LLM key (header `X-LLM-API-Key`) travels sealed with the job.
    """
    payload = body.model_copy(update={"user_id": owner}).model_dump(mode="json")
    key = request.headers.get("x-llm-api-key")
    if key:
        secret = request.app.state.settings.auth_secret
        if not secret:  # not the caller's sign-in at fault: no 401 that signs them out
            raise InvalidRequest(
                "X-LLM-API-Key cannot be taken here: the server has no JOBGATE_AUTH_SECRET "
                "to seal it with; send the request without it")
        payload = with_sealed_key(payload, key, secret)
    return payload


MULTI_AGENT = JobKind(
    name=KIND, prefix=PREFIX, prepare=prepare, estimate=estimate_seconds,
)
Kind = Annotated[JobKind, Depends(MULTI_AGENT)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


async def submit(
    body: jobs.SubmitBody[MultiAgentRequest],
    request: Request,
    owner: Owner,
    kind: Kind,
    svc: Svc,
    waiters: Waiting,
    idempotency_key: IdempotencyKey = None,
    prefer: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Queue a job and answer at once (202), or with `Prefer: wait=N` up to N s."""
    enq, estimate = await jobs.enqueue(
        kind, svc, owner, body.request, body.priority, idempotency_key, request
    )
    wait = jobs.parse_prefer(prefer, svc.settings.long_poll_max_s)
    if wait:
        with waiters.waiting("long_poll"):
            job, _ = await wait_for_change(svc, enq.job_id, owner, wait, None, terminal_only=True)
        if job.terminal:
            return jobs.result_response(job, {"Preference-Applied": f"wait={int(wait)}"})
    return jobs.accepted(kind, enq, estimate, waiters)


async def process(
    body: MultiAgentRequest,
    request: Request,
    owner: Owner,
    kind: Kind,
    svc: Svc,
    waiters: Waiting,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Synchronous, for old clients: the response if the job ends within
    JOBGATE_SYNC_WAIT_S, else 202 with the job id — never left to a proxy to cut.
    A failed job is a 502, a cancelled one a 409, each with its `job_id`."""
    enq, estimate = await jobs.enqueue(
        kind, svc, owner, body, Priority.NORMAL, idempotency_key, request
    )
    with waiters.waiting("long_poll"):
        job, _ = await wait_for_change(
            svc, enq.job_id, owner, svc.settings.sync_wait_s, None, terminal_only=True
        )
    if job.state is JobState.COMPLETED:
        return JSONResponse(job.result)
    text = job_error(job)
    if job.state is JobState.FAILED:
        raise JobFailed(str(text.error), job_id=job.id, code=text.error_code)
    if job.state is JobState.CANCELLED:
        raise JobCancelled(str(text.error), job_id=job.id)
    return jobs.accepted(kind, enq, estimate, waiters)


def router() -> APIRouter:
    r = jobs.kind_router(MULTI_AGENT)
    json_body = [Depends(require_json)]
    not_json: dict[int | str, dict[str, Any]] = {415: {"model": ErrorResponse}}
    r.add_api_route(
        "/submit", submit, methods=["POST"], status_code=202, dependencies=json_body,
        response_model=JobSubmitResponse,
        responses={200: {"model": JobResultResponse}, **not_json},
    )
    jobs.add_routes(r)
    r.add_api_route(
        "/process", process, methods=["POST"], dependencies=json_body,
        response_model=MultiAgentResponse,
        responses={
            202: {"model": JobSubmitResponse}, 502: {"model": ErrorResponse},
            409: {"model": ErrorResponse}, **not_json,
        },
    )
    return r
