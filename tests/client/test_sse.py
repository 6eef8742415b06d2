"""The SSE decoder and the wait tracker: pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime

from jobgate.client._sse import SSEDecoder, event_key
from jobgate.client._tracker import Tracker, next_channel
from jobgate.job import JobState
from jobgate.models import JobEvent, JobStatusResponse


def decode(text: str) -> list[JobEvent]:
    d = SSEDecoder()
    return [e for line in text.split("\n") if (e := d.feed(line.rstrip("\r"))) is not None]


def test_events_comments_and_multiline_data() -> None:
    events = decode(
        ": ping - 2026\n\n"
        "id: 1-0\nevent: state\ndata: {\"status\":\"pending\"}\n\n"
        "id: 1-1\r\nevent: token\r\ndata: {\"agent\": \"a\",\r\ndata: \"text\": \"x\"}\r\n\r\n"
        "data: not json\n\n"
        "id: 2-0\nretry: 3000\nevent: progress\ndata:{\"progress\":0.5}\n\n"
        "id: 3-0\nevent: nothing\n\n"
    )
    assert [(e.id, e.type) for e in events] == [
        ("1-0", "state"), ("1-1", "token"), ("1-1", "message"), ("2-0", "progress")
    ]
    assert events[1].data == {"agent": "a", "text": "x"}
    assert events[2].data == {"text": "not json"}
    assert events[3].data == {"progress": 0.5}


def test_event_key_orders_stream_ids() -> None:
    assert event_key("1700000000000-2") == (1700000000000, 2)
    assert event_key("10-0") > event_key("9-5")  # type: ignore[operator]
    assert event_key("abc") is None and event_key("1-x") is None


def test_tracker_drops_replayed_events_and_reports_progress() -> None:
    t = Tracker("j")
    first = JobEvent(id="5-0", type="state", data={"status": "processing", "attempt": 1,
                                                   "message": "running"})
    assert t.is_new(first)
    p = t.on_event(first)
    assert p is not None and p.status is JobState.PROCESSING and p.attempt == 1
    assert not t.is_new(JobEvent(id="5-0", type="token", data={}))
    assert not t.is_new(JobEvent(id="4-9", type="token", data={}))
    assert t.on_event(JobEvent(id="5-1", type="token", data={"text": "x"})) is None
    assert t.last_event_id == "5-1"
    step = t.on_event(JobEvent(id="6-0", type="progress", data={
        "progress": 0.4, "message": "m", "step": {"agent": "research", "index": 1}}))
    assert step is not None and step.step is not None and step.step.agent == "research"
    t.on_event(JobEvent(id="7-0", type="state", data={"status": "completed", "attempt": 1}))
    assert t.terminal


def test_tracker_reports_a_status_only_when_it_changed() -> None:
    now = datetime.now(UTC)
    s = JobStatusResponse(job_id="j", status=JobState.PROCESSING, progress=0.5, message="m",
                          created_at=now, updated_at=now, attempt=1,
                          estimated_remaining_seconds=3.0)
    t = Tracker("j")
    p = t.on_status(s)
    assert p is not None and p.estimated_remaining_seconds == 3.0
    assert t.on_status(s) is None
    assert t.on_status(s.model_copy(update={"progress": 0.6})) is not None


def test_channels_degrade_to_plain_polling() -> None:
    assert next_channel("sse") == "long_poll"
    assert next_channel("long_poll") == "poll"
    assert next_channel("poll") == "poll"
