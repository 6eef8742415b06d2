"""Everything the SDK raises on purpose, under one root.

    JobGateError                (jobgate.errors: the project's one root)
    └── ClientError             raised by jobgate.Client / jobgate.AsyncClient
        ├── TransportError      the server could not be reached, even after retries
        ├── APIError            the server answered with an error (status_code, code, detail)
        │   ├── AuthError       401: no, expired or forged token
        │   └── NotFound        404: unknown id, or a job of someone else
        ├── JobNotDone          result() asked of a job that has not ended yet
        ├── JobTimeout          wait() gave up; the job may still be running
        ├── JobFailed           the job ended in `failed` (code, message from the server)
        └── JobCancelled        the job ended in `cancelled`

The HTTP status → class mapping is `error_for_status`, nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobgate.errors import JobGateError

if TYPE_CHECKING:
    from jobgate.models import JobResultResponse, JobStatusResponse


class ClientError(JobGateError):
    """Root of every error the SDK raises on purpose."""

    code = "client_error"


class TransportError(ClientError):
    """No answer from the server (connection refused, reset, timed out), after retries."""

    code = "transport_error"


class APIError(ClientError):
    """The server answered with an error status."""

    def __init__(
        self,
        status_code: int,
        detail: Any,
        code: str = "http_error",
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code} ({code}): {detail}")
        self.status_code = status_code
        self.detail = detail
        self.code = code
        self.retry_after = retry_after


class AuthError(APIError):
    """401: the token is missing, expired or not signed by this server."""


class NotFound(APIError):
    """404: no such job, or not yours (the server does not say which)."""


class JobNotDone(ClientError):
    """`result()` of a job that is still pending or processing."""

    code = "not_done"

    def __init__(self, status: JobStatusResponse) -> None:
        super().__init__(f"job {status.job_id} is still {status.status.value}")
        self.job_id = status.job_id
        self.status = status


class JobTimeout(ClientError):
    """`wait()` ran out of time. The job itself was left alone unless
    `cancel_on_abort=True`."""

    code = "timeout"

    def __init__(self, job_id: str, timeout: float | None) -> None:
        super().__init__(f"job {job_id} did not end within {timeout} s")
        self.job_id = job_id
        self.timeout = timeout


class JobFailed(ClientError):
    """The job ended in `failed`; `code` and `message` are the server's."""

    def __init__(self, result: JobResultResponse) -> None:
        error = result.error
        self.code = error.code if error else "failed"
        self.message = error.message if error else "job failed"
        super().__init__(f"job {result.job_id} failed ({self.code}): {self.message}")
        self.job_id = result.job_id
        self.result = result


class JobCancelled(ClientError):
    """The job ended in `cancelled`."""

    code = "cancelled"

    def __init__(self, result: JobResultResponse) -> None:
        super().__init__(f"job {result.job_id} was cancelled")
        self.job_id = result.job_id
        self.result = result


_BY_STATUS: dict[int, type[APIError]] = {401: AuthError, 404: NotFound}


def error_for_status(
    status_code: int, body: Any, retry_after: float | None = None
) -> APIError:
    """The typed error for an error answer; `body` is its decoded JSON (or text)."""
    detail: Any = body
    code = "http_error"
    if isinstance(body, dict):
        detail = body.get("detail", body)
        code = str(body.get("code", code))
    cls = _BY_STATUS.get(status_code, APIError)
    return cls(status_code, detail, code, retry_after=retry_after)
