"""The job record and every decision about a job that needs no I/O.

Timestamps are integers of microseconds since the epoch, taken from the
Redis server's clock inside the Lua scripts, so workers and API pods with
skewed clocks still agree on leases.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson


class JobState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL: frozenset[JobState] = frozenset(
    {JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}
)
ACTIVE: frozenset[JobState] = frozenset({JobState.PENDING, JobState.PROCESSING})

_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.PROCESSING, JobState.CANCELLED, JobState.FAILED}),
    JobState.PROCESSING: frozenset({JobState.PENDING} | TERMINAL),
}


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_ORDER: tuple[Priority, ...] = (Priority.HIGH, Priority.NORMAL, Priority.LOW)

WORKER_LOST = "worker_lost"
TIMEOUT = "timeout"
ORPHANED_MESSAGE = "worker lost; retrying"

_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def new_job_id() -> str:
    """A random UUID4: 122 random bits from the OS, never time-based."""
    return str(uuid.uuid4())


def is_valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id))


def can_transition(src: JobState, dst: JobState) -> bool:
    """Terminal states never change; processing may go back to pending."""
    return dst in _TRANSITIONS.get(src, frozenset())


def next_retry_delay(
    attempt: int, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with "equal jitter": between half and all of base·2^(n-1)."""
    ceiling = min(max_s, base_s * 2.0 ** max(attempt - 1, 0))
    r: float = (rng or random).random()
    return ceiling / 2 + r * ceiling / 2


def should_retry(attempt: int, max_attempts: int) -> bool:
    return attempt < max_attempts


def estimated_remaining(
    progress: float, started_us: int | None, now_us: int, default_s: float | None = None
) -> float | None:
    """Seconds left, extrapolated from run time per unit of progress so far.

    Before any progress there is nothing to extrapolate from: use the
    handler's own estimate (`default_s`) when it has one.
    """
    if started_us is None or progress <= 0:
        return default_s
    if progress >= 1:
        return 0.0
    elapsed = max(now_us - started_us, 0) / 1e6
    return round(elapsed * (1 - progress) / progress, 1)


def us_to_datetime(us: int | None) -> datetime | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1e6, tz=UTC)


def _int(raw: dict[str, str], key: str) -> int | None:
    v = raw.get(key)
    return int(v) if v not in (None, "") else None


def _json(raw: dict[str, str], key: str) -> Any:
    v = raw.get(key)
    return orjson.loads(v) if v else None


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of one job hash, as read from Redis."""

    id: str
    kind: str
    owner: str
    state: JobState
    priority: Priority
    attempt: int
    max_attempts: int
    created_us: int
    updated_us: int
    started_us: int | None = None
    completed_us: int | None = None
    lease_until_us: int | None = None
    progress: float = 0.0
    message: str = ""
    step: dict[str, Any] | None = None
    payload: Any = None
    result: Any = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    estimate_s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Job:
        return cls(
            id=raw["id"],
            kind=raw.get("kind", ""),
            owner=raw.get("owner", ""),
            state=JobState(raw["state"]),
            priority=Priority(raw.get("priority", "normal")),
            attempt=_int(raw, "attempt") or 0,
            max_attempts=_int(raw, "max_attempts") or 1,
            created_us=_int(raw, "created") or 0,
            updated_us=_int(raw, "updated") or 0,
            started_us=_int(raw, "started"),
            completed_us=_int(raw, "completed"),
            lease_until_us=_int(raw, "lease_until"),
            progress=float(raw.get("progress") or 0.0),
            message=raw.get("message", ""),
            step=_json(raw, "step"),
            payload=_json(raw, "payload"),
            result=_json(raw, "result"),
            error=_json(raw, "error"),
            cancel_requested=raw.get("cancel") == "1",
            estimate_s=float(raw["estimate_s"]) if raw.get("estimate_s") else None,
        )

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def is_lease_expired(self, now_us: int) -> bool:
        return (
            self.state is JobState.PROCESSING
            and self.lease_until_us is not None
            and self.lease_until_us < now_us
        )

    def as_seen(self, now_us: int) -> Job:
        """The job as a client should see it: an orphan says so at once.

        A job whose lease lapsed is not running, whatever the hash says, until
        a worker's claim script reclaims it; report it as pending with the
        attempt about to grow rather than as a healthy `processing`.
        """
        if not self.is_lease_expired(now_us):
            return self
        return replace(self, state=JobState.PENDING, message=ORPHANED_MESSAGE)

    def remaining_s(self, now_us: int) -> float | None:
        if self.terminal:
            return 0.0
        return estimated_remaining(self.progress, self.started_us, now_us, self.estimate_s)
