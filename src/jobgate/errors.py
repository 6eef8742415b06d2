"""One exception root for jobgate.

    JobGateError
    ├── ConfigError            bad settings or an unsafe Redis (would evict keys)
    ├── StoreUnavailable       Redis/Valkey cannot be reached            → 503
    ├── AuthUnavailable        the sign-in service cannot be reached    → 503
    ├── AuthError              missing, expired or forged token          → 401
    ├── JobNotFound            unknown id, malformed id or not yours     → 404
    ├── RequestTooLarge        body over the byte limit                  → 413
    ├── TooManyActiveJobs      owner at the active-job cap               → 429
    ├── JobConflict            the job is cancelled / in the wrong state → 409
    ├── LeaseLost              a worker's fencing token is no longer valid
    └── JobError               raised by handlers
        ├── RetryableError     transient; retried with backoff
        └── PermanentError     the job fails at once

The HTTP mapping lives in `api/errors.py`, nowhere else.
"""

from __future__ import annotations


class JobGateError(Exception):
    """Root of every error jobgate raises on purpose."""

    code = "error"


class ConfigError(JobGateError):
    code = "config"


class StoreUnavailable(JobGateError):
    code = "store_unavailable"


class AuthUnavailable(JobGateError):
    """The service that vouches for a credential did not answer: a 503 the
    client retries, never a 401 that would sign its user out."""

    code = "auth_unavailable"


class AuthError(JobGateError):
    code = "unauthorized"


class JobNotFound(JobGateError):
    code = "not_found"


class RequestTooLarge(JobGateError):
    code = "too_large"


class TooManyActiveJobs(JobGateError):
    code = "too_many_active_jobs"


class JobConflict(JobGateError):
    code = "conflict"


class LeaseLost(JobGateError):
    """The worker no longer holds the job: another attempt or a cancel took it."""

    code = "lease_lost"


class JobError(JobGateError):
    """Raised by a handler to end its job with a reason the client may read."""

    code = "job_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class RetryableError(JobError):
    """Transient failure (timeout, 429, 5xx): the engine retries with backoff."""

    code = "retryable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class PermanentError(JobError):
    """The job cannot succeed by trying again (bad credentials, bad request)."""

    code = "permanent"
