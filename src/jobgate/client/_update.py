"""`JobUpdate`: what `watch` yields, one thing about one job at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jobgate.client._errors import APIError, NotFound
from jobgate.job import TERMINAL
from jobgate.models import JobEvent, JobResultResponse

_STATUS = {"not_found": 404, "too_many_subscriptions": 429, "invalid_request": 400}


@dataclass(frozen=True, slots=True)
class JobUpdate:
    """One of: a log `event` of the job (its SSE stream's event, same id); its
    `result` (the `/result` body, just before the terminal event); or an
    `error` saying it cannot be followed (`NotFound`: unknown or not yours)."""

    job_id: str
    event: JobEvent | None = None
    result: JobResultResponse | None = None
    error: APIError | None = None

    @property
    def kind(self) -> Literal["event", "result", "error"]:
        if self.event is not None:
            return "event"
        return "result" if self.result is not None else "error"

    @property
    def terminal(self) -> bool:
        """The job's last event (its final state), or an error: nothing follows."""
        if self.error is not None:
            return True
        e = self.event
        return e is not None and e.type == "state" and e.data.get("status") in TERMINAL


def error_of(code: str, detail: str) -> APIError:
    status = _STATUS.get(code, 400)
    cls = NotFound if status == 404 else APIError
    return cls(status, detail or code, code)
