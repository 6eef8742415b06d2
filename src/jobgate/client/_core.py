"""What the sync and the async client share: paths, bodies, decoding answers,
and the `Tracker` that follows a job while one waits on it. No I/O here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from jobgate.agents.models import MultiAgentRequest
from jobgate.client._errors import (
    ERROR_PREFIX,
    APIError,
    JobCancelled,
    JobFailed,
    error_for_status,
)
from jobgate.client._sse import event_key
from jobgate.client._transport import RETRYABLE_STATUS, retry_after_of
from jobgate.job import TERMINAL, JobState, Priority
from jobgate.models import JobEvent, JobResultResponse, JobStatusResponse, Step
from jobgate.settings import ClientSettings

PREFIX = "/api/multi-agent"
LONG_POLL_S = 25.0
"""Seconds one long-poll may hang: well inside any proxy's 60 s cut."""
SSE_READ_TIMEOUT_S = 60.0
"""Longest silence on an SSE stream before reconnecting (the server pings every 15 s)."""

Channel = Literal["auto", "sse", "long_poll", "poll"]
CHANNELS: tuple[Channel, ...] = ("sse", "long_poll", "poll")
M = TypeVar("M", bound=BaseModel)


def resolve(base_url: str | None, token: str | None) -> tuple[str, str | None]:
    """Explicit arguments first, then JOBGATE_URL / JOBGATE_TOKEN."""
    if base_url is None or token is None:
        env = ClientSettings()
        base_url = base_url if base_url is not None else env.url
        token = token if token is not None else env.token
    return base_url.rstrip("/"), token


def default_headers(token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "jobgate-python"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra or {})
    return headers


def job_path(job_id: str, leaf: str) -> str:
    """`/jobs/{id}/{leaf}`, the id escaped so no id can point elsewhere."""
    return f"{PREFIX}/jobs/{quote(job_id, safe='')}/{leaf}"


def submit_payload(
    request: MultiAgentRequest | Mapping[str, Any], priority: Priority | str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request": request.model_dump(mode="json", exclude_none=True)
        if isinstance(request, MultiAgentRequest) else dict(request)
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
    try:
        return model.model_validate(upgrade_error(orjson.loads(response.content)))
    except orjson.JSONDecodeError as exc:
        problem = f"unexpected answer: not JSON ({exc})"
    except ValidationError as exc:
        problem = f"unexpected answer: {exc.errors()[:1]}"
    raise APIError(response.status_code, problem, "bad_response")


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
    """An answer to /events that says "no stream here" (an old server, a proxy
    answering 404/405, a buffering proxy rewriting the type): fall back to polling.

    A 404 is included: if the job itself is unknown, the status request that
    follows says so with a `NotFound`.
    """
    code = response.status_code
    if code in (401, 429) or code in RETRYABLE_STATUS:
        return False
    if code >= 400:
        return True
    return not response.headers.get("content-type", "").startswith("text/event-stream")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a job is, as `on_progress` receives it."""

    job_id: str
    status: JobState
    progress: float
    message: str
    attempt: int
    step: Step | None = None
    estimated_remaining_seconds: float | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class Tracker:
    """Follows one job through events and status answers while a client waits.

    It remembers the last event id (the `Last-Event-ID` to resume with), drops
    events it has already seen (so a replaying server cannot duplicate them),
    and turns what changed into `Progress`.
    """

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.last_event_id: str | None = None
        self.status = JobState.PENDING
        self.attempt = 0
        self.progress = 0.0
        self.message = ""
        self.step: Step | None = None
        self.eta: float | None = None
        self.result: JobResultResponse | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def take_result(self, event: JobEvent) -> bool:
        """Keep the result a stream sends just before the terminal event (it spares
        the GET /result); True if the event was that one, not a log event."""
        if event.type != "result":
            return False
        with contextlib.suppress(ValidationError):
            self.result = JobResultResponse.model_validate(upgrade_error(event.data))
        return True

    def is_new(self, event: JobEvent) -> bool:
        if self.last_event_id is None:
            return True
        seen, this = event_key(self.last_event_id), event_key(event.id)
        return seen is None or this is None or this > seen

    def on_event(self, event: JobEvent) -> Progress | None:
        """Take in one new event; the progress to report, if it is about progress."""
        self.last_event_id = event.id or self.last_event_id
        data = event.data
        if event.type == "state":
            self.status = JobState(data.get("status", self.status))
            self.attempt = int(data.get("attempt") or self.attempt)
            self.message = str(data.get("message", self.message))
            if self.status in TERMINAL:
                self.eta = 0.0
        elif event.type == "progress":
            self.progress = float(data.get("progress", self.progress))
            self.message = str(data.get("message", self.message))
            step = data.get("step")
            self.step = Step.model_validate(step) if isinstance(step, dict) else None
        else:
            return None
        return self.snapshot()

    def on_status(self, status: JobStatusResponse) -> Progress | None:
        """Take in a status answer; progress to report only if something changed."""
        before = (self.status, self.progress, self.message, self.attempt, self.step)
        self.status, self.progress, self.message = status.status, status.progress, status.message
        self.attempt, self.step = status.attempt, status.step
        self.eta = status.estimated_remaining_seconds
        if before == (self.status, self.progress, self.message, self.attempt, self.step):
            return None
        return self.snapshot()

    def snapshot(self) -> Progress:
        return Progress(
            job_id=self.job_id, status=self.status, progress=self.progress,
            message=self.message, attempt=self.attempt, step=self.step,
            estimated_remaining_seconds=self.eta,
        )


def next_channel(channel: Channel) -> Channel:
    """The cheaper channel failed: take the next one (plain polling always works)."""
    i = CHANNELS.index(channel) if channel in CHANNELS else 0
    return CHANNELS[min(i + 1, len(CHANNELS) - 1)]
