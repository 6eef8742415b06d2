"""Everything the SDK raises on purpose, under one root.

    JobGateError                (jobgate.errors: the project's one root)
    └── ClientError             raised by jobgate.Client / jobgate.AsyncClient
        ├── TransportError      the server could not be reached, even after retries
        ├── APIError            the server answered with an error (status_code, code, detail,
        │                       message)
        │   ├── AuthError       401: no, expired or forged token
        │   └── NotFound        404: unknown id, or a job of someone else
        ├── JobNotDone          result() asked of a job that has not ended yet
        ├── JobTimeout          wait() gave up; the job may still be running
        ├── JobFailed           the job ended in `failed` (code, message, detail)
        └── JobCancelled        the job ended in `cancelled` (likewise)

A job's error comes as the server sends it: `message` is its `error` string
("Job failed: <what happened>"), `code` its `error_code`, `detail` its
`error_detail` (the plain text, without the prefix).

The HTTP status → class mapping is `error_for_status`, nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobgate.errors import JobGateError
from jobgate.job import JobState

if TYPE_CHECKING:
    from jobgate.models import JobResultResponse, JobStatusResponse

ERROR_PREFIX = {JobState.FAILED: "Job failed: ", JobState.CANCELLED: "Job cancelled: "}
"""How the server's `error` string starts, by the state the job ended in."""


class ClientError(JobGateError):
    """Root of every error the SDK raises on purpose."""

    code = "client_error"


class TransportError(ClientError):
    """No answer from the server (connection refused, reset, timed out), after retries."""

    code = "transport_error"


class APIError(ClientError):
    """The server answered with an error status. `detail` is the body's as
    sent (a 422's is FastAPI's list of problems); `message` is one readable line."""

    def __init__(
        self,
        status_code: int,
        detail: Any,
        code: str = "http_error",
        *,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        self.message = message or (detail if isinstance(detail, str) else str(detail))
        super().__init__(f"HTTP {status_code} ({code}): {self.message}")
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


class _JobEnded(ClientError):
    """A job that ended without a result; `message`, `code`, `detail` say why."""

    STATE = JobState.FAILED

    def __init__(self, result: JobResultResponse) -> None:
        self.code, self.message, self.detail = job_error(result, self.STATE)
        super().__init__(f"job {result.job_id}: {self.message} ({self.code})")
        self.job_id = result.job_id
        self.result = result


class JobFailed(_JobEnded):
    """The job ended in `failed`; e.g. code `llm_unavailable`, message
    "Job failed: the model could not be reached"."""


class JobCancelled(_JobEnded):
    """The job ended in `cancelled`; code `cancelled`, message "Job cancelled: <reason>"."""

    STATE = JobState.CANCELLED


def job_error(result: JobResultResponse, state: JobState) -> tuple[str, str, str]:
    """(code, message, detail) of a job that ended in `state`, with defaults
    for a server that said less."""
    prefix = ERROR_PREFIX[state]
    fallback = "the job failed" if state is JobState.FAILED else "cancelled"
    given = result.error
    detail = result.error_detail or (given.removeprefix(prefix) if given else None) or fallback
    code = result.error_code or state.value
    return code, given or prefix + detail, detail


_BY_STATUS: dict[int, type[APIError]] = {401: AuthError, 404: NotFound}


def error_for_status(
    status_code: int, body: Any, retry_after: float | None = None
) -> APIError:
    """The typed error for an error answer; `body` is its decoded JSON (or text)."""
    detail: Any = body
    code = "http_error"
    message: str | None = None
    if isinstance(body, dict):
        detail = body.get("detail", body)
        code = str(body.get("code", code))
        message = body.get("message") if isinstance(body.get("message"), str) else None
    cls = _BY_STATUS.get(status_code, APIError)
    return cls(status_code, detail, code, retry_after=retry_after, message=message)
