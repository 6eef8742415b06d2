"""What every plan shares: the routes under a prefix, request bodies, and
reading answers into models or typed errors. Pure: no I/O here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from jobgate.client._errors import (
    ERROR_PREFIX,
    APIError,
    JobCancelled,
    JobFailed,
    error_for_status,
)
from jobgate.client._settings import DEFAULT_PREFIX, ClientSettings
from jobgate.client._transport import RETRYABLE_STATUS, retry_after_of
from jobgate.job import JobState, Priority
from jobgate.models import JobResultResponse

M = TypeVar("M", bound=BaseModel)


def resolve(base_url: str | None, token: str | None) -> tuple[str, str | None]:
    """Explicit arguments first, then JOBGATE_URL / JOBGATE_TOKEN."""
    if base_url is None or token is None:
        env = ClientSettings.from_env()
        base_url = base_url if base_url is not None else env.url
        token = token if token is not None else env.token
    return base_url.rstrip("/"), token


def default_headers(token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "jobgate-python"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra or {})
    return headers


@dataclass(frozen=True, slots=True)
class Paths:
    """The job routes under one prefix (`/api/multi-agent` unless told otherwise)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", "/" + self.prefix.strip("/") if self.prefix else "")

    def job(self, job_id: str, leaf: str) -> str:
        """`/jobs/{id}/{leaf}`, the id escaped so no id can point elsewhere."""
        return f"{self.prefix}/jobs/{quote(job_id, safe='')}/{leaf}"

    def __call__(self, leaf: str) -> str:
        return f"{self.prefix}/{leaf}"


def submit_payload(
    request: BaseModel | Mapping[str, Any], priority: Priority | str | None
) -> dict[str, Any]:
    """The submit body; `request` is a `MultiAgentRequest` (any pydantic model) or a dict."""
    body: dict[str, Any] = {
        "request": request.model_dump(mode="json", exclude_none=True)
        if isinstance(request, BaseModel) else dict(request)
    }
    if priority is not None:
        body["priority"] = Priority(priority).value
    return body


def idempotency_headers(key: str | None) -> dict[str, str]:
    """One key for every try of one submit: a retried submit never makes a second job."""
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def check(response: httpx.Response) -> httpx.Response:
    """The response if it is a success, else its typed error."""
    if response.is_success:
        return response
    raise error_for_status(response.status_code, _body(response), retry_after_of(response.headers))


def parse(model: type[M], response: httpx.Response) -> M:
    return parse_body(model, response.content, response.status_code)


def parse_body(model: type[M], content: bytes | str | Any, status_code: int = 200) -> M:
    """A model from JSON text (or already decoded JSON); a bad one is an `APIError`."""
    try:
        body = orjson.loads(content) if isinstance(content, bytes | str) else content
        return model.model_validate(upgrade_error(body))
    except orjson.JSONDecodeError as exc:
        problem = f"unexpected answer: not JSON ({exc})"
    except ValidationError as exc:
        problem = f"unexpected answer: {exc.errors()[:1]}"
    raise APIError(status_code, problem, "bad_response")


def upgrade_error(body: Any) -> Any:
    """A server from before the `error` string sent `error: {code, message}`;
    read that as the string with `error_code` and `error_detail`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return body
    detail = str(error.get("message") or "") or None
    state = JobState.CANCELLED if body.get("status") == JobState.CANCELLED else JobState.FAILED
    return {
        **body,
        "error": ERROR_PREFIX[state] + detail if detail else None,
        "error_code": body.get("error_code") or error.get("code"),
        "error_detail": body.get("error_detail") or detail,
    }


def outcome(result: JobResultResponse) -> JobResultResponse:
    """A completed job's result; the typed error of a failed or cancelled one."""
    if result.status is JobState.FAILED:
        raise JobFailed(result)
    if result.status is JobState.CANCELLED:
        raise JobCancelled(result)
    return result


def sse_unsupported(response: httpx.Response) -> bool:
    """An answer to an event stream that says "no stream here" (an old server, a
    proxy answering 404/405, a buffering proxy rewriting the type): fall back.

    A 404 is included: if the job itself is unknown, the status request that
    follows says so with a `NotFound`.
    """
    code = response.status_code
    if code in (401, 429) or code in RETRYABLE_STATUS:
        return False
    if code >= 400:
        return True
    return not response.headers.get("content-type", "").startswith("text/event-stream")
