"""The CLI's non-terminal output (`_output.Lines`), fed as the SDK feeds it:
from a stream (each event, then the progress it made) and from status polls
(progress only). Pure: no server; the subprocess tests are in test_cli.py."""

from __future__ import annotations

import json
from typing import Any

import jobgate
from jobgate.client._output import Lines, changes, event_line
from jobgate.client._tracker import Tracker
from jobgate.models import JobEvent, JobStatusResponse

JOB = "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f"
NOW = "2026-01-01T00:00:00.000000+00:00"
STEP = {"agent": "research", "index": 1, "total": 2}

STREAM = [
    JobEvent(id="1-0", type="state", data={"status": "pending", "attempt": 0, "message": "queued"}),
    JobEvent(id="2-0", type="state",
             data={"status": "processing", "attempt": 1, "message": "running"}),
    JobEvent(id="3-0", type="progress", data={"progress": 0.5, "message": "research: done",
                                              "step": STEP}),
    JobEvent(id="4-0", type="agent_output", data={"agent": "research", "round": 1,
                                                  "response": "an answer"}),
    JobEvent(id="5-0", type="token", data={"agent": "analysis", "text": "tok"}),
    JobEvent(id="6-0", type="state",
             data={"status": "completed", "attempt": 1, "message": "completed"}),
]


def from_stream(lines: Lines, events: list[JobEvent]) -> None:
    """As the SDK reports a stream: the event, then the progress it made, if any."""
    tracker = Tracker(JOB)
    for event in events:
        lines.on_event(event)
        progress = tracker.on_event(event)
        if progress is not None:
            lines.on_progress(progress)


def status(state: str, progress: float, message: str, attempt: int,
           step: dict[str, Any] | None = None) -> JobStatusResponse:
    return JobStatusResponse.model_validate({
        "job_id": JOB, "status": state, "progress": progress, "message": message,
        "created_at": NOW, "updated_at": NOW, "attempt": attempt, "step": step,
    })


POLLS = [
    status("pending", 0.0, "queued", 0),
    status("processing", 0.0, "running", 1),
    status("processing", 0.5, "research: done", 1, STEP),
    status("processing", 0.5, "research: done", 1, STEP),  # nothing new: no line
    status("completed", 1.0, "completed", 1, STEP),
]


def from_polls(lines: Lines, answers: list[JobStatusResponse]) -> None:
    """As the SDK reports status polls: progress only, and only when something changed."""
    tracker = Tracker(JOB)
    for answer in answers:
        progress = tracker.on_status(answer)
        if progress is not None:
            lines.on_progress(progress)


def test_a_stream_prints_each_state_and_progress_event_once() -> None:
    out: list[str] = []
    from_stream(Lines(out.append), STREAM)
    assert out == [
        "[state] pending: queued",
        "[state] processing: running",
        "[progress] 50% research: done",
        "[state] completed: completed",
    ]


def test_watch_adds_agent_outputs_and_tokens_on_request() -> None:
    out: list[str] = []
    from_stream(Lines(out.append, everything=True), STREAM)
    assert "[agent_output] research (round 1): an answer" in out
    assert not any(line.startswith("[token]") for line in out)
    with_tokens: list[str] = []
    from_stream(Lines(with_tokens.append, everything=True, tokens=True), STREAM)
    assert "[token] analysis: tok" in with_tokens


def test_polls_print_the_same_lines_as_a_stream() -> None:
    streamed: list[str] = []
    from_stream(Lines(streamed.append), STREAM)
    polled: list[str] = []
    from_polls(Lines(polled.append), POLLS)
    # The poll that saw `completed` also saw progress reach 100 %.
    assert polled == [*streamed[:-1], "[state] completed: completed", "[progress] 100% completed"]


def test_json_lines_are_the_stream_events_then_the_result() -> None:
    out: list[str] = []
    lines = Lines(out.append, as_json=True)
    from_stream(lines, STREAM)
    result = jobgate.JobResultResponse.model_validate({
        "job_id": JOB, "status": "completed", "result": {"response": "hi"},
        "created_at": NOW, "attempt": 1,
    })
    lines.on_result(result)
    events = [json.loads(line) for line in out]
    assert [e["id"] for e in events[:-1]] == ["1-0", "2-0", "3-0", "4-0", "6-0"]  # no token
    assert events[-1] == {"id": "", "type": "result",
                          "data": result.model_dump(mode="json")}


def test_json_lines_from_polls_have_the_stream_shape() -> None:
    out: list[str] = []
    from_polls(Lines(out.append, as_json=True), POLLS[:3])
    events = [json.loads(line) for line in out]
    assert [(e["type"], e["id"]) for e in events] == [
        ("state", ""), ("state", ""), ("progress", "")]
    assert events[1]["data"] == {"status": "processing", "attempt": 1, "message": "running"}
    assert events[2]["data"]["step"] == STEP and events[2]["data"]["progress"] == 0.5


def test_a_retry_shows_its_attempt_and_a_new_message_alone_is_a_state_line() -> None:
    first = Tracker(JOB).on_status(status("processing", 0.3, "running", 1))
    assert first is not None
    lost = Tracker(JOB).on_status(status("pending", 0.3, "worker lost; retrying", 1))
    again = Tracker(JOB).on_status(status("processing", 0.0, "running", 2))
    assert lost is not None and again is not None
    assert [event_line(e) for e in changes(first, lost)] == [
        "[state] pending: worker lost; retrying"]
    assert [event_line(e) for e in changes(lost, again)] == [
        "[state] processing (attempt 2): running"]
    noted = Tracker(JOB).on_status(status("processing", 0.3, "waiting for the model", 1))
    assert noted is not None
    assert [event_line(e) for e in changes(first, noted)] == [
        "[state] processing: waiting for the model"]
