"""What a handler's exception means for its attempt, told by the exception's type."""

from __future__ import annotations

import logging

from jobgate.errors import JobError, RetryableError
from jobgate.job import INTERNAL_ERROR, STORE_UNAVAILABLE, TIMEOUT, Failure
from jobgate.store.claims import Claimed
from jobgate.store.connection import STORE_DOWN

log = logging.getLogger("jobgate.worker")


def failure_of(
    c: Claimed, exc: Exception, timed_out: bool
) -> tuple[Failure, str, str, float | None]:
    """What went wrong, told by the exception's type: (failure, code, detail,
    the handler's own retry delay)."""
    if isinstance(exc, STORE_DOWN):  # the store blinked under a progress write
        return Failure.STORE_DOWN, STORE_UNAVAILABLE, f"job store unavailable: {exc}", None
    if isinstance(exc, TimeoutError) and timed_out:
        return Failure.TIMEOUT, TIMEOUT, f"job exceeded its timeout of {c.timeout_s:g}s", None
    if isinstance(exc, RetryableError):
        return Failure.RETRYABLE, exc.code, str(exc), exc.retry_after_s
    if isinstance(exc, JobError):
        return Failure.PERMANENT, exc.code, str(exc), None
    log.error("handler crashed", exc_info=exc, extra={
        "job_id": c.job_id, "attempt": c.attempt, "owner": c.owner, "kind": c.kind})
    return Failure.CRASH, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", None
