"""Pure conversions between a terminal `Job` (as Valkey holds it) and a history row.

The two directions are exact inverses for what the API shows, so `/status`
and `/result` give the same body from either source: `job_from_row` rebuilds
a `Job` and the API's own views (api/views.py) render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from jobgate.agents.credentials import LLM_KEY_FIELD
from jobgate.agents.handler import KIND as MULTI_AGENT
from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.modes import plan
from jobgate.api.views import job_error
from jobgate.history.nul import no_nul
from jobgate.job import Job, JobState, Priority, us_to_datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(dt: datetime) -> int:
    """Exact integer microseconds (no float on the way back)."""
    return (dt - _EPOCH) // _US


def _dt(us: int | None) -> datetime | None:
    return us_to_datetime(us)


@dataclass(frozen=True, slots=True)
class Described:
    """What analytics wants to know about a request, read from its payload."""

    request: Any
    mode: str | None = None
    primary_agent: str | None = None
    product_id: str | None = None
    agents: list[str] = field(default_factory=list)


def _clip(value: Any, n: int) -> str | None:
    return str(value)[:n] if value not in (None, "") else None


def describe(kind: str, payload: Any) -> Described:
    """The request as stored (the sealed LLM key left out), its mode, agents, product.

    A multi-agent request is planned again (pure) to name every agent that
    took part; anything else is read from its fields as far as it has them.
    """
    if not isinstance(payload, Mapping):
        return Described(request=payload if payload is not None else {})
    request = {k: v for k, v in payload.items() if k != LLM_KEY_FIELD}
    context = request.get("context")
    product = request.get("product_id") or (
        context.get("product_id") if isinstance(context, Mapping) else None
    )
    base = Described(
        request=request,
        mode=_clip(request.get("coordination_mode"), 32),
        primary_agent=_clip(request.get("primary_agent"), 32),
        product_id=_clip(product, 200),
    )
    if kind != MULTI_AGENT:
        return base
    try:
        p = plan(MultiAgentRequest.model_validate(request))
    except (ValidationError, ValueError, KeyError):
        return base
    return Described(request, p.mode.value, p.primary.value, base.product_id, p.agents)


def _seconds(later: int | None, earlier: int | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(later - earlier, 0) / 1e6


def row_values(job: Job, archived_at: datetime) -> tuple[dict[str, Any], list[str]]:
    """The `jobgate_jobs` column values of a terminal job, and its agents."""
    assert job.terminal and job.completed_us is not None
    d = describe(job.kind, job.payload)
    err = job_error(job)
    values = {
        "job_id": job.id,
        "kind": job.kind[:64],
        "owner": job.owner,
        "status": job.state.value,
        "priority": job.priority.value,
        "mode": d.mode,
        "primary_agent": d.primary_agent,
        "product_id": d.product_id,
        "request": d.request,
        "result": job.result,
        "error_code": err.error_code[:64] if err.error_code else None,
        "error_detail": err.error_detail,
        "message": job.message,
        "progress": job.progress,
        "step": job.step,
        "attempt": job.attempt,
        "created_at": _dt(job.created_us),
        "started_at": _dt(job.started_us),
        "completed_at": _dt(job.completed_us),
        "queue_wait_s": _seconds(job.started_us, job.created_us),
        "run_time_s": _seconds(job.completed_us, job.started_us),
        "archived_at": archived_at,
    }
    return {k: no_nul(v) for k, v in values.items()}, d.agents


def job_from_row(row: Any) -> Job:
    """A `Job` snapshot from a `JobRow` (or any object with its attributes)."""
    completed = to_us(row.completed_at)
    error = (
        {"code": row.error_code, "message": row.error_detail}
        if row.status == JobState.FAILED.value and row.error_code else None
    )
    return Job(
        id=row.job_id,
        kind=row.kind,
        owner=row.owner,
        state=JobState(row.status),
        priority=Priority(row.priority),
        attempt=row.attempt,
        max_attempts=row.attempt,
        created_us=to_us(row.created_at),
        updated_us=completed,  # a terminal job's last update is its end
        started_us=to_us(row.started_at) if row.started_at else None,
        completed_us=completed,
        progress=row.progress if row.progress is not None else 0.0,
        message=row.message or "",
        step=row.step,
        payload=row.request,
        result=row.result,
        error=error,
    )
