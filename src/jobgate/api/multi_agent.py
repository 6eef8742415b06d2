"""The multi-agent kind at /api/multi-agent, and the old synchronous /process.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from jobgate.agents.credentials import with_sealed_key
from jobgate.agents.handler import KIND, estimate_seconds
from jobgate.agents.models import MultiAgentRequest, MultiAgentResponse
from jobgate.api.auth import Owner
from jobgate.api.jobs import ERRORS, JobKind, accepted, enqueue, job_router, svc_of, waiters_of
from jobgate.api.waiting import wait_for_change
from jobgate.errors import AuthError
from jobgate.job import JobState, Priority
from jobgate.models import ErrorResponse, JobSubmitResponse

PREFIX = "/api/multi-agent"


def prepare(body: MultiAgentRequest, owner: str, request: Request) -> dict[str, Any]:
    """The job payload: `user_id` is the token's subject, never the client's word.

    A caller's own LLM key (header `X-LLM-API-Key`) travels sealed with the job.
    """
    payload = body.model_copy(update={"user_id": owner}).model_dump(mode="json")
    key = request.headers.get("x-llm-api-key")
    if key:
        secret = request.app.state.settings.auth_secret
        if not secret:
            raise AuthError("server has no secret to seal an LLM key with")
        payload = with_sealed_key(payload, key, secret)
    return payload


def make_kind(request_estimate: Any) -> JobKind:
    return JobKind(
        name=KIND, prefix=PREFIX, request_model=MultiAgentRequest,
        prepare=prepare, estimate=request_estimate,
    )


def router(settings: Any) -> APIRouter:
    kind = make_kind(lambda req: estimate_seconds(req, settings))
    r = job_router(kind)

    @r.post(
        "/process",
        response_model=MultiAgentResponse,
        responses={
            202: {"model": JobSubmitResponse}, 502: {"model": ErrorResponse},
            409: {"model": ErrorResponse}, **ERRORS,
        },
    )
    async def process(
        body: MultiAgentRequest,
        request: Request,
        owner: Owner,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        """Synchronous, for old clients: the response if the job ends within
        JOBGATE_SYNC_WAIT_S, else 202 with the job id — never left to a proxy to cut."""
        svc = svc_of(request)
        enq, estimate = await enqueue(
            kind, svc, owner, body, Priority.NORMAL, idempotency_key, request
        )
        with waiters_of(request).waiting("long_poll"):
            job, _ = await wait_for_change(
                svc, enq.job_id, owner, svc.settings.sync_wait_s, None, terminal_only=True
            )
        if job.state is JobState.COMPLETED:
            return JSONResponse(job.result)
        if job.state is JobState.FAILED:
            detail = (job.error or {}).get("message", "job failed")
            return JSONResponse(
                {"detail": detail, "code": (job.error or {}).get("code", "failed"),
                 "job_id": job.id}, status_code=502,
            )
        if job.state is JobState.CANCELLED:
            return JSONResponse(
                {"detail": "job was cancelled", "code": "cancelled", "job_id": job.id},
                status_code=409,
            )
        return accepted(kind, request, enq, estimate)

    return r
