"""The `multi_agent` job handler, and the estimate the API shows at submit.

The engine calls `handler(ctx, payload)`; this module turns the payload into
a validated request, opens the job's own LLM backend (with the job's own key
when one was sealed into the payload), runs the pipeline and returns the
`MultiAgentResponse` as JSON-ready data. A payload that does not validate
fails the job at once: retrying cannot fix it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from jobgate.agents.credentials import LLM_KEY_FIELD, unseal
from jobgate.agents.llm import make_backend
from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.modes import plan
from jobgate.agents.pipeline import run_pipeline
from jobgate.agents.reporting import JobReporter
from jobgate.agents.retrieval import Retriever
from jobgate.errors import PermanentError
from jobgate.settings import Settings

KIND = "multi_agent"

OPENAI_STEP_ESTIMATE_S = 20.0
"""Typical seconds of one streamed chat completion of ~300 words."""

if TYPE_CHECKING:
    from jobgate.context import JobContext

    def _context_is_a_reporter(ctx: JobContext) -> JobReporter:
        """mypy proves here that the engine's context fits the narrow protocol."""
        return ctx


Handler = Callable[[JobReporter, Mapping[str, Any]], Awaitable[dict[str, Any]]]


def parse_request(payload: Mapping[str, Any]) -> MultiAgentRequest:
    """The request inside a job payload (the sealed key left out)."""
    data = {k: v for k, v in payload.items() if k != LLM_KEY_FIELD}
    try:
        return MultiAgentRequest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        raise PermanentError(
            f"invalid multi-agent request: {problems}", code="invalid_request"
        ) from None


def step_seconds(settings: Settings) -> float:
    """How long one agent call takes with the configured backend."""
    return settings.sim_step_s if settings.llm_backend == "simulated" else OPENAI_STEP_ESTIMATE_S


def estimate_seconds(request: MultiAgentRequest | Mapping[str, Any], settings: Settings) -> float:
    """Expected run time: phases (steps that run one after another) × step time.

    Steps of one phase run concurrently, so the phases, not the steps, are
    what a client waits for; for sequential mode the two are the same.
    """
    if not isinstance(request, MultiAgentRequest):
        request = parse_request(request)
    return round(len(plan(request).phases) * step_seconds(settings), 3)


def _job_api_key(payload: Mapping[str, Any], settings: Settings) -> str | None:
    token = payload.get(LLM_KEY_FIELD)
    if token is None:
        return None
    if not isinstance(token, str) or not settings.auth_secret:
        raise PermanentError(
            "the job carries a sealed LLM key but this worker cannot open it "
            "(JOBGATE_AUTH_SECRET unset or different from the API's)",
            code="llm_key_invalid",
        )
    return unseal(token, settings.auth_secret)


async def run_multi_agent(
    ctx: JobReporter,
    payload: Mapping[str, Any],
    settings: Settings | None = None,
    retriever: Retriever | None = None,
) -> dict[str, Any]:
    """Run one multi-agent job; returns the `MultiAgentResponse` as JSON data.

    `settings` should be the worker's own; without it they are read from the
    environment (a convenience for scripts, not for the worker). `retriever`
    finds the rag agent's passages (default: the request's own documents).
    """
    settings = settings if settings is not None else Settings()
    request = parse_request(payload)
    api_key = _job_api_key(payload, settings)
    async with make_backend(settings, api_key) as llm:
        response = await run_pipeline(request, llm, ctx, retriever=retriever)
    return response.model_dump(mode="json")


def make_handler(settings: Settings, retriever: Retriever | None = None) -> Handler:
    """The handler to register under `KIND`, bound to the worker's settings
    (and to a retriever with more sources than the request, when given)."""

    async def handler(ctx: JobReporter, payload: Mapping[str, Any]) -> dict[str, Any]:
        return await run_multi_agent(ctx, payload, settings, retriever)

    handler.__qualname__ = handler.__name__ = "run_multi_agent"
    return handler
