"""The sans-I/O core alone: plans driven by scripted answers, no network, no
sleeping. What both clients do is decided here, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close as CloseFrame

import jobgate
from jobgate.client import _actions as a
from jobgate.client import _follow, _plans, _watch
from jobgate.client._core import Paths

JOB = "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f"
NOW = "2026-01-01T00:00:00.000000+00:00"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def session(clock: Clock, **kw: Any) -> _plans.Session:
    return _plans.Session(clock=clock, retry=jobgate.Retry(rng=lambda: 0.0), **kw)


def drive(plan: a.Plan[Any], answer: Callable[[a.Action], Any]) -> tuple[Any, list[a.Action]]:
    """Run a plan as a driver would, `answer` standing in for the I/O."""
    step, seen = a.Stepper(plan), []
    while (action := step.next()) is not None:
        seen.append(action)
        try:
            step.done(action, answer(action))
        except BaseException as exc:
            step.failed(exc)
    return step.result, seen


def status(state: str = "processing", progress: float = 0.5) -> httpx.Response:
    return httpx.Response(200, json={
        "job_id": JOB, "status": state, "progress": progress, "message": state,
        "created_at": NOW, "updated_at": NOW, "attempt": 1})


RESULT = httpx.Response(200, json={"job_id": JOB, "status": "completed", "created_at": NOW,
                                   "attempt": 1, "result": {"response": "hi"}})


def test_a_long_poll_never_waits_past_the_deadline_and_is_rounded() -> None:
    clock = Clock()
    s = session(clock, channel="long_poll")
    answers = iter([status(), status("completed", 1.0), RESULT])

    def answer(action: a.Action) -> Any:
        if isinstance(action, a.Send):
            clock.now += 1.0
            return next(answers)
        return None

    result, seen = drive(_follow.wait(s, JOB, on_progress=None, on_event=None,
                                      timeout=7.123456, cancel_on_abort=False), answer)
    assert result.result == {"response": "hi"}
    polls = [x for x in seen if isinstance(x, a.Send) and x.url.endswith("/status")]
    assert [p.params for p in polls] == [{"wait": 7.123}, {"wait": 6.123}]
    first = polls[0]
    assert first.limit == pytest.approx(7.123456 + _plans.LIMIT_SLACK_S)
    assert first.timeout.read is not None and first.timeout.read <= first.limit


@pytest.mark.parametrize("cancel_on_abort", [False, True])
@pytest.mark.parametrize("stop", [KeyboardInterrupt, asyncio.CancelledError])
def test_a_stopped_wait_cancels_its_job_only_when_asked(
    stop: type[BaseException], cancel_on_abort: bool
) -> None:
    s = session(Clock())
    plan = _follow.wait(s, JOB, on_progress=lambda p: None, on_event=None, timeout=None,
                        cancel_on_abort=cancel_on_abort)
    sent: list[a.Send] = []

    def answer(action: a.Action) -> Any:
        if isinstance(action, a.Call):
            raise stop  # Ctrl-C in a callback, or the task cancelled there
        if isinstance(action, a.Send):
            sent.append(action)
            return httpx.Response(405) if action.url.endswith("/events") else status()
        return None

    with pytest.raises(stop):
        drive(plan, answer)
    cancels = [x for x in sent if x.url.endswith("/cancel")]
    assert len(cancels) == cancel_on_abort
    if cancels:
        assert cancels[0].limit is not None and cancels[0].limit <= 5.1


def test_a_stream_left_open_by_a_dropped_plan_is_the_drivers_to_close() -> None:
    s = session(Clock())
    stream = httpx.Response(200, headers={"content-type": "text/event-stream"})
    step = a.Stepper(_follow.wait(s, JOB, on_progress=None, on_event=None, timeout=None,
                                  cancel_on_abort=False))
    while not isinstance(action := step.next(), a.Next):
        step.done(action, stream if isinstance(action, a.Send) else iter([]))
    assert step.left_open() == [stream]


def event(job: str, eid: str, kind: str = "progress", **data: Any) -> str:
    return orjson.dumps({"type": "event", "job_id": job, "id": eid, "event": kind,
                         "data": data}).decode()


def closed(code: int) -> Exception:
    frame = CloseFrame(code, "bye")
    cls = ConnectionClosedOK if code in (1000, 1001) else ConnectionClosedError
    return cls(frame, frame, True)


def watching(messages: list[str | Exception]) -> tuple[list[Any], list[a.Action]]:
    """Watch one job through a socket that delivers `messages` (an exception
    there: the socket dropped with it)."""
    s = session(Clock(), paths=Paths("/jobs-here"))
    plan = _watch.watch(s, {"Authorization": "Bearer t", "Accept": "x"}, "https://h:1", [JOB],
                        every=False, timeout=None, transport="websocket")
    queue, items = list(messages), []

    def answer(action: a.Action) -> Any:
        if isinstance(action, a.Emit):
            items.append(action.item)
        if isinstance(action, a.Receive):
            got = queue.pop(0)
            if isinstance(got, Exception):
                raise got
            return got
        return object() if isinstance(action, a.Connect) else None

    _, seen = drive(plan, answer)
    return items, seen


def test_a_dropped_socket_resumes_each_job_after_its_last_event() -> None:
    done = event(JOB, "3-0", "state", status="completed")
    items, seen = watching([event(JOB, "1-0"), event(JOB, "2-0"), closed(1001),
                            event(JOB, "2-0"), done])  # 2-0 again: dropped
    connects = [x for x in seen if isinstance(x, a.Connect)]
    assert [c.url for c in connects] == ["wss://h:1/jobs-here/ws"] * 2
    assert connects[0].headers == {"Authorization": "Bearer t"}
    subscribes = [orjson.loads(x.text) for x in seen if isinstance(x, a.Transmit)]
    assert subscribes == [{"type": "subscribe", "job_id": JOB},
                          {"type": "subscribe", "job_id": JOB, "last_event_id": "2-0"}]
    assert not any(isinstance(x, a.Sleep) for x in seen)  # 1001: straight back
    assert [u.event.id for u in items] == ["1-0", "2-0", "3-0"] and items[-1].terminal
    assert sum(isinstance(x, a.Close) for x in seen) == 2


def test_other_drops_back_off_and_4401_is_signed_out() -> None:
    done = event(JOB, "1-0", "state", status="completed")
    _, seen = watching([closed(1011), done])
    assert [x.seconds for x in seen if isinstance(x, a.Sleep)] == [0.5]
    with pytest.raises(jobgate.AuthError):
        watching([closed(4401)])
