"""How the CLI shows a job while it waits, when no progress bar can be drawn.

A terminal gets a rich progress bar (in `cli.py`). Anything else (a pipe, a
file, a CI log) gets one plain line per state change and per progress step
as it happens, or with `--json` one JSON object per event (JSON Lines): the
stream's own `{"id", "type", "data"}`, opened by `submitted` (the submit
answer, from `submit --wait`) and closed by `result` (the result body).

The SDK reports a streamed event to `on_event` and then, for `state` and
`progress` events, the same change to `on_progress`; a status poll reports
to `on_progress` only. `Lines` takes both and prints each change once, so
the output is the same whichever channel the client ended up on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from jobgate.client._tracker import Progress
from jobgate.client._update import JobUpdate
from jobgate.models import JobEvent, JobResultResponse, JobSubmitResponse, Step

FOLLOWED = frozenset({"state", "progress"})
"""Event types that the SDK also reports as `Progress`."""


def state_line(status: str, attempt: int | None, message: str) -> str:
    again = f" (attempt {attempt})" if attempt and attempt > 1 else ""
    return f"[state] {status}{again}: {message}".rstrip(": ")


def progress_line(progress: float, step: Step | None, message: str) -> str:
    """The percentage and the server's message (which names the step), or the step."""
    where = message
    if not where and step is not None and step.agent:
        where = step.agent
        if step.index and step.total:
            where += f" ({step.index}/{step.total})"
    return f"[progress] {progress:.0%} {where}".rstrip()


def event_line(event: JobEvent) -> str:
    """One line for any event of a job's stream."""
    d = event.data
    if event.type == "state":
        attempt = d.get("attempt")
        return state_line(str(d.get("status")), attempt if isinstance(attempt, int) else None,
                          str(d.get("message", "")))
    if event.type == "progress":
        step = d.get("step")
        return progress_line(float(d.get("progress", 0)),
                             Step.model_validate(step) if isinstance(step, dict) else None,
                             str(d.get("message", "")))
    if event.type == "agent_output":
        text = str(d.get("response", "")).replace("\n", " ")
        return f"[agent_output] {d.get('agent')} (round {d.get('round')}): {text[:100]}"
    if event.type == "token":
        return f"[token] {d.get('agent')}: {d.get('text', '')}"
    return f"[{event.type}] {d}"


def result_event(result: JobResultResponse) -> JobEvent:
    """The closing JSON line: the result body, in the shape of the stream's own `result` event."""
    return JobEvent(id="", type="result", data=result.model_dump(mode="json"))


class Lines:
    """Prints a waiting job's changes as lines to `write`.

    `everything` adds the events that are not state or progress (agent
    outputs; tokens only with `tokens`), as `jobgate watch` shows them.
    """

    def __init__(
        self, write: Callable[[str], Any], *, as_json: bool = False,
        everything: bool = False, tokens: bool = False,
    ) -> None:
        self.write = write
        self.as_json = as_json
        self.everything = everything
        self.tokens = tokens
        self.last: Progress | None = None
        self._reported = False  # the next Progress repeats an event just printed

    def on_submitted(self, job: JobSubmitResponse) -> None:
        """The opening JSON line: the submit answer (the job id, its URLs)."""
        if self.as_json:
            self.write(JobEvent(id="", type="submitted", data=job.model_dump(mode="json"))
                       .model_dump_json())

    def on_event(self, event: JobEvent) -> None:
        if event.type in FOLLOWED:
            self._reported = True
        elif not self._shows(event.type):
            return
        self.write(event.model_dump_json() if self.as_json else event_line(event))

    def _shows(self, kind: str) -> bool:
        """Whether an event other than state and progress is printed."""
        if kind == "token":
            return self.tokens
        return self.everything or self.as_json

    def on_progress(self, p: Progress) -> None:
        before, self.last = self.last, p
        if self._reported:
            self._reported = False
            return
        for event in changes(before, p):
            self.write(event.model_dump_json() if self.as_json else event_line(event))

    def on_result(self, result: JobResultResponse) -> None:
        if self.as_json:
            self.write(result_event(result).model_dump_json())


def changes(before: Progress | None, now: Progress) -> list[JobEvent]:
    """The events a stream would have sent between two polled states, as far
    as the status tells: a state change, a progress step, or both. A new
    message alone counts as a state line."""
    moved = before is None or (before.status, before.attempt) != (now.status, now.attempt)
    stepped = before is None or (before.progress, before.step) != (now.progress, now.step)
    noted = before is not None and before.message != now.message
    out: list[JobEvent] = []
    if moved or (noted and not stepped):
        out.append(JobEvent(id="", type="state", data={
            "status": now.status.value, "attempt": now.attempt, "message": now.message,
        }))
    if stepped and (now.progress or now.step is not None):
        out.append(JobEvent(id="", type="progress", data={
            "progress": now.progress, "message": now.message,
            "step": now.step.model_dump(exclude_none=True) if now.step else None,
        }))
    return out


class UpdateLines:
    """Prints `watch`'s updates of many jobs: `<job id> <line>` per event (the
    lines of `Lines`), or with `as_json` the event's JSON with its `job_id`;
    the result (JSON only) and errors likewise. Remembers how each job ended."""

    def __init__(self, write: Callable[[str], Any], *, as_json: bool = False,
                 tokens: bool = False) -> None:
        self.write = write
        self.as_json = as_json
        self.tokens = tokens
        self.outcomes: dict[str, str] = {}

    def on_update(self, update: JobUpdate) -> None:
        if update.error is not None:
            self.outcomes[update.job_id] = "error"
            self._print(update.job_id, JobEvent(id="", type="error", data={
                "code": update.error.code, "detail": update.error.message}))
        elif update.result is not None:
            self.outcomes[update.job_id] = update.result.status.value
            if self.as_json:
                self._print(update.job_id, result_event(update.result))
        elif update.event is not None and (update.event.type != "token" or self.tokens):
            self._print(update.job_id, update.event)

    def _print(self, job_id: str, event: JobEvent) -> None:
        if self.as_json:
            self.write(orjson.dumps({"job_id": job_id, **event.model_dump(mode="json")}).decode())
        elif event.type == "error":
            self.write(f"{job_id} [error] {event.data['code']}: {event.data['detail']}")
        else:
            self.write(f"{job_id} {event_line(event)}")
