"""Wire models of the HTTP contract, shared by the API and the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from jobgate.job import JobState, Priority


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with a UTC offset and microseconds, always the same width."""
    return dt.isoformat(timespec="microseconds") if dt is not None else None


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_serializer("*", when_used="json")
    def _datetimes(self, v: Any) -> Any:
        return iso(v) if isinstance(v, datetime) else v


class Step(_Wire):
    """Where a running job is: which agent, which round, which of how many steps."""

    model_config = ConfigDict(extra="allow")

    agent: str | None = None
    round: int | None = None
    index: int | None = None
    total: int | None = None


class JobSubmitResponse(_Wire):
    job_id: str
    status: JobState = JobState.PENDING
    message: str
    created_at: datetime
    estimated_completion_seconds: float | None = None
    status_url: str
    result_url: str
    events_url: str


class JobStatusResponse(_Wire):
    job_id: str
    status: JobState
    progress: float = Field(ge=0, le=1)
    message: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_remaining_seconds: float | None = None
    attempt: int
    step: Step | None = None
    priority: Priority = Priority.NORMAL
    error: str | None = None
    error_code: str | None = None
    error_detail: str | None = None


class JobResultResponse(_Wire):
    """`error` is the old app's string ("Job failed: …", "Job cancelled: …"),
    which its unchanged client throws as is; `error_code` and `error_detail`
    are the parts, for clients that branch on them."""

    job_id: str
    status: Literal[JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED]
    result: Any = None
    error: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    created_at: datetime
    completed_at: datetime | None = None
    attempt: int


class JobListResponse(_Wire):
    jobs: list[JobStatusResponse]
    next: str | None = None


class ErrorResponse(_Wire):
    """Every error answer. `detail` is a string, or FastAPI's list of
    `{loc, msg, type}` for a 422; `message` is always one readable string."""

    detail: Any
    code: str
    message: str
    job_id: str | None = None


class JobEvent(_Wire):
    """One entry of a job's event stream; `id` is the stream id and the SSE id."""

    id: str
    type: str
    data: dict[str, Any]
