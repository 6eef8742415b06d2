"""One exception root for jobgate.

    JobGateError
    ├── ConfigError            bad settings or an unsafe Redis (would evict keys)
    ├── StoreUnavailable       Redis/Valkey cannot be reached            → 503
    ├── AuthUnavailable        the sign-in service cannot be reached    → 503
    ├── AuthError              missing, expired or forged token          → 401
    ├── Forbidden              signed in without the scope it needs      → 403
    ├── JobNotFound            unknown id, malformed id or not yours     → 404
    ├── DocumentNotFound       a product document unknown or not yours   → 404
    ├── InvalidRequest         a header or parameter the API cannot use  → 422
    ├── UnsupportedMediaType   a JSON endpoint got a body that is not    → 415
    ├── RequestTooLarge        body over the byte limit                  → 413
    ├── TooManyActiveJobs      owner at the active-job cap               → 429
    ├── JobConflict            the job is in the wrong state             → 409
    ├── JobEnded               /process: the job ended without a result
    │   ├── JobFailed          ... because it failed                     → 502
    │   └── JobCancelled       ... because it was cancelled              → 409
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


class Forbidden(JobGateError):
    """A valid sign-in without the scope an endpoint needs (`jobgate:admin`)."""

    code = "forbidden"


class JobNotFound(JobGateError):
    code = "not_found"


class DocumentNotFound(JobGateError):
    """Unknown and someone else's answer alike: the id says nothing about others."""

    code = "not_found"


class InvalidRequest(JobGateError):
    """Input the models do not cover (a header, say) that the API cannot use."""

    code = "invalid_request"


class UnsupportedMediaType(JobGateError):
    """A body sent to a JSON endpoint without a JSON Content-Type.

    Not read as JSON anyway: a cross-site form or text/plain post needs no
    CORS preflight, so accepting one would open the API to CSRF.
    """

    code = "unsupported_media_type"


class RequestTooLarge(JobGateError):
    code = "too_large"


class TooManyActiveJobs(JobGateError):
    code = "too_many_active_jobs"


class JobConflict(JobGateError):
    code = "conflict"


class JobEnded(JobGateError):
    """A synchronous caller's job ended without a result; the message is the
    job's `error` string ("Job failed: …"), `code` its `error_code`."""

    def __init__(self, message: str, *, job_id: str, code: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        if code is not None:
            self.code = code


class JobFailed(JobEnded):
    code = "failed"


class JobCancelled(JobEnded):
    code = "cancelled"


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
