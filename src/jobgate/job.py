"""The job record and every decision about a job that needs no I/O.

Timestamps are integers of microseconds since the epoch, taken from the
Redis server's clock inside the Lua scripts, so workers and API pods with
skewed clocks still agree on leases.
"""

from __future__ import annotations

import os
import random
import re
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
"""Every state change a script may make; the scripts check each one against
this table (store/rules.py writes it into them), so it is the rule, not a
description of it."""


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_ORDER: tuple[Priority, ...] = (Priority.HIGH, Priority.NORMAL, Priority.LOW)
"""Claim order within a partition: a lower queue waits while a higher one has jobs."""

WORKER_LOST = "worker_lost"
TIMEOUT = "timeout"
BAD_RESULT = "bad_result"
STORE_UNAVAILABLE = "store_unavailable"
INTERNAL_ERROR = "internal_error"
UNKNOWN_KIND = "unknown_kind"

MESSAGES: dict[str, str] = {
    # The status message of each step the scripts take (printf-style: Lua's
    # string.format reads the same templates).
    "queued": "queued",
    "running": "running (attempt %d of %d)",
    "lost_retrying": "worker lost; retrying",
    "lost_gave_up": "worker lost; no attempts left",
    "lost_error": "worker lost during attempt %d of %d; no attempts left",
    "cancelled": "cancelled by user",
    "handed_back": "worker shutting down; requeued",
    "completed": "completed",
}
ORPHANED_MESSAGE = MESSAGES["lost_retrying"]

_JOB_ID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-p(0|[1-9][0-9]{0,3})$"
)


def new_job_id(partition: int = 0) -> str:
    """A random UUID4 (122 random bits from the OS, never time-based), then the
    job's partition: any reader finds the job's slot from its id alone.
    (Written out here: half of what `uuid.uuid4()` costs, on every submit.)"""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}-p{partition}"


def is_valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id))


def partition_of(job_id: str) -> int:
    """The partition a (valid) job id names."""
    return int(job_id.rpartition("-p")[2])


def can_transition(src: JobState, dst: JobState) -> bool:
    """Terminal states never change; processing may go back to pending."""
    return dst in _TRANSITIONS.get(src, frozenset())


def transitions() -> dict[JobState, frozenset[JobState]]:
    return dict(_TRANSITIONS)


def next_retry_delay(
    attempt: int, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with "equal jitter": between half and all of base·2^(n-1)."""
    ceiling = min(max_s, base_s * 2.0 ** max(attempt - 1, 0))
    r: float = (rng or random).random()
    return ceiling / 2 + r * ceiling / 2


def should_retry(attempt: int, max_attempts: int) -> bool:
    """The give-up rule, for a handler's retryable error and a lost worker alike."""
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


# -- how an attempt ends ----------------------------------------------------
class Ending(StrEnum):
    """How one attempt ends, as its worker reports it. Not a job state: a
    retry leaves the job `pending`, waiting out its backoff."""

    COMPLETE = "complete"
    FAIL = "fail"
    RETRY = "retry"

    @property
    def state(self) -> JobState:
        return _ENDING_STATE[self]


_ENDING_STATE = {
    Ending.COMPLETE: JobState.COMPLETED,
    Ending.FAIL: JobState.FAILED,
    Ending.RETRY: JobState.PENDING,
}


class Failure(StrEnum):
    """What went wrong in an attempt, told apart by exception type (worker.py)."""

    RETRYABLE = "retryable"  # the handler asked for a retry
    PERMANENT = "permanent"  # the handler said trying again cannot help
    TIMEOUT = "timeout"  # the attempt outlived the job's timeout
    STORE_DOWN = "store_down"  # the job store blinked under a progress write
    BAD_RESULT = "bad_result"  # the handler returned what JSON cannot hold
    CRASH = "crash"  # any other exception: a bug in the handler


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    """The decision: how the attempt ends, the status message, and for a
    failure or a retry the error `{code, message}` the client will read."""

    ending: Ending
    message: str
    error: dict[str, str] | None = None
    retry_delay_s: float = 0.0


_RETRIED = frozenset({Failure.RETRYABLE, Failure.STORE_DOWN})


def end_of_attempt(
    failure: Failure | None,
    *,
    attempt: int,
    max_attempts: int,
    code: str = "",
    detail: str = "",
    retry_after_s: float | None = None,
    retry_delay_s: float = 0.0,
) -> AttemptEnd:
    """Decide how an attempt ends. `failure` None: the handler returned.

    `code` and `detail` describe the error (a handler's own code, or the
    failure's); `retry_delay_s` is the backoff to use when the handler gave
    no `retry_after_s`.
    """
    if failure is None:
        return AttemptEnd(Ending.COMPLETE, MESSAGES["completed"])
    if failure in _RETRIED and should_retry(attempt, max_attempts):
        delay = retry_after_s if retry_after_s is not None else retry_delay_s
        return AttemptEnd(
            Ending.RETRY, f"retrying in {delay:.1f}s: {detail}",
            {"code": code, "message": detail}, delay,
        )
    if failure in _RETRIED:
        detail = f"{detail} (gave up after {attempt} of {max_attempts} attempts)"
    return AttemptEnd(Ending.FAIL, f"failed: {detail}", {"code": code, "message": detail})


def lost_worker_end(attempt: int, max_attempts: int) -> tuple[JobState, str, dict[str, str] | None]:
    """A lease lapsed: back to pending while attempts are left, else failed
    with `worker_lost` (claim.lua applies this rule)."""
    if should_retry(attempt, max_attempts):
        return JobState.PENDING, MESSAGES["lost_retrying"], None
    error = {"code": WORKER_LOST, "message": MESSAGES["lost_error"] % (attempt, max_attempts)}
    return JobState.FAILED, MESSAGES["lost_gave_up"], error
