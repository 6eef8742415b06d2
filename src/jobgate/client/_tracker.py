"""Following one job through events and status answers: what changed, what
was seen already, where to resume. Pure: both the single-job wait and the
many-job `watch` feed it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from jobgate.client._core import upgrade_error
from jobgate.client._sse import event_key
from jobgate.job import TERMINAL, JobState
from jobgate.models import JobEvent, JobResultResponse, JobStatusResponse, Step

Channel = Literal["auto", "sse", "long_poll", "poll"]
CHANNELS: tuple[Channel, ...] = ("sse", "long_poll", "poll")


def next_channel(channel: Channel) -> Channel:
    """The cheaper channel failed: take the next one (plain polling always works)."""
    i = CHANNELS.index(channel) if channel in CHANNELS else 0
    return CHANNELS[min(i + 1, len(CHANNELS) - 1)]


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


def is_after(event_id: str, last: str | None) -> bool:
    """Whether `event_id` comes after `last` (ids of another shape always pass)."""
    if last is None:
        return True
    seen, this = event_key(last), event_key(event_id)
    return seen is None or this is None or this > seen


def parse_result(data: object) -> JobResultResponse | None:
    """The `/result` body a stream or socket carries; None if it is not one."""
    with contextlib.suppress(ValidationError):
        return JobResultResponse.model_validate(upgrade_error(data))
    return None


class Tracker:
    """Follows one job while a client waits on it.

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
        self.result = parse_result(event.data) or self.result
        return True

    def is_new(self, event: JobEvent) -> bool:
        return is_after(event.id, self.last_event_id)

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
