"""The client's own rules, on an httpx MockTransport: which answers are retried,
how long it waits, one Idempotency-Key per submit, typed errors, and the
fallback from SSE to polling; each with `Client` and `AsyncClient` (the
`flavour`). The server's side is tested against real processes in
test_client_stack.py."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import jobgate
from jobgate.client import _async, _sync
from jobgate.client._transport import Deadline, Retry, parse_retry_after, poll_interval
from tests.client.conftest import AnyClient, Flavour, make_client

JOB = "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f"
NOW = "2026-01-01T00:00:00.000000+00:00"
SUBMITTED = {
    "job_id": JOB, "status": "pending", "message": "job accepted", "created_at": NOW,
    "status_url": "s", "result_url": "r", "events_url": "e",
}


def status_body(status: str = "processing", progress: float = 0.5) -> dict[str, Any]:
    return {
        "job_id": JOB, "status": status, "progress": progress, "message": status,
        "created_at": NOW, "updated_at": NOW, "attempt": 1,
    }


def result_body(status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {"job_id": JOB, "status": status, "created_at": NOW, "attempt": 1,
            "result": {"response": "hi"}, **extra}


Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers in order; records each request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every pause the clients take, recorded instead of slept."""
    slept: list[float] = []

    async def async_sleep(s: float) -> None:
        slept.append(s)

    monkeypatch.setattr(_sync, "_sleep", slept.append)
    monkeypatch.setattr(_async, "_sleep", async_sleep)
    yield slept


def client(flavour: Flavour, script: Script, **kw: Any) -> AnyClient:
    kw.setdefault("retry", Retry(rng=lambda: 0.0))
    return make_client(flavour, "http://jobgate.test", "tok",
                       transport=httpx.MockTransport(script), **kw)


# -- pure rules ---------------------------------------------------------------

def test_backoff_doubles_and_is_capped() -> None:
    r = Retry(base=0.5, cap=10.0, rng=lambda: 0.0)
    assert [r.backoff(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert r.backoff(10_000) == 10.0


def test_jitter_only_shortens() -> None:
    r = Retry(base=1.0, cap=8.0, jitter=0.5, rng=lambda: 0.999)
    assert 0.5 <= r.backoff(0) <= 1.0
    assert 4.0 <= r.backoff(5) <= 8.0


def test_retry_after_replaces_backoff_but_is_bounded() -> None:
    r = Retry(max_retry_after=60.0, rng=lambda: 0.0)
    assert r.delay(0, retry_after=7.0) == 7.0
    assert r.delay(0, retry_after=3600.0) == 60.0
    assert r.delay(3) == 4.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (parse_retry_after(format_datetime(later, usegmt=True)) or 0) <= 31


def test_which_answers_are_retried() -> None:
    r = Retry(retries=3)
    for code in (502, 503, 504, 524):
        assert r.should_retry(0, status=code)
    for code in (400, 401, 404, 409, 422, 429, 500):
        assert not r.should_retry(0, status=code)
    assert r.should_retry(0, exc=httpx.ConnectError("refused"))
    assert r.should_retry(0, exc=httpx.ReadTimeout("slow"))
    assert not r.should_retry(0, exc=httpx.UnsupportedProtocol("ftp"))
    assert not r.should_retry(3, status=503)


def test_poll_interval_follows_the_server_within_bounds() -> None:
    assert poll_interval(None) == 2.0
    assert poll_interval(5) == 5.0
    assert poll_interval(0) == 0.5
    assert poll_interval(600) == 30.0


def test_deadline() -> None:
    now = [100.0]
    d = Deadline(10, clock=lambda: now[0])
    assert d.left() == 10 and not d.expired and d.clamp(30) == 10
    now[0] = 111
    assert d.expired and d.left() == 0
    assert Deadline(None).left() is None and Deadline(None).clamp(5) == 5


# -- the retry loop, sync and async ---------------------------------------------

def test_503_then_200_is_retried(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(503), httpx.Response(200, json=status_body()))
    with client(flavour, script) as c:
        assert c.status(JOB).status is jobgate.JobState.PROCESSING
    assert len(script.requests) == 2 and sleeps == [0.5]


def test_524_is_retried(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(524), httpx.Response(524),
                    httpx.Response(200, json=status_body()))
    with client(flavour, script) as c:
        c.status(JOB)
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]


def test_network_errors_are_retried(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ReadError("reset"),
                    httpx.Response(200, json=status_body()))
    with client(flavour, script) as c:
        c.status(JOB)
    assert len(script.requests) == 3


@pytest.mark.parametrize(("code", "error"), [(401, jobgate.AuthError), (404, jobgate.NotFound)])
def test_401_and_404_are_not_retried(
    sleeps: list[float], code: int, error: type[Exception], flavour: Flavour
) -> None:
    script = Script(httpx.Response(code, json={"detail": "no", "code": "x"}))
    with client(flavour, script) as c, pytest.raises(error) as info:
        c.status(JOB)
    assert len(script.requests) == 1 and sleeps == []
    assert isinstance(info.value, jobgate.APIError) and info.value.status_code == code


def test_retry_after_is_honoured(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "7"}),
                    httpx.Response(200, json=status_body()))
    with client(flavour, script) as c:
        c.status(JOB)
    assert sleeps == [7.0]


def test_backoff_is_capped_and_retries_end(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(503, json={"detail": "down", "code": "store_unavailable"}))
    retry = Retry(retries=6, base=1.0, cap=5.0, rng=lambda: 0.0)
    with client(flavour, script, retry=retry) as c, pytest.raises(jobgate.APIError) as info:
        c.status(JOB)
    assert info.value.status_code == 503 and info.value.code == "store_unavailable"
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_unreachable_server_is_a_transport_error(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.ConnectError("refused"))
    with client(flavour, script) as c, pytest.raises(jobgate.TransportError):
        c.jobs()
    assert len(script.requests) == 9


def test_submit_retries_reuse_one_idempotency_key(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.ReadError("cut after sending"), httpx.Response(502),
                    httpx.Response(202, json=SUBMITTED))
    with client(flavour, script) as c:
        job = c.submit({"query": "q"}, priority="high")
    keys = {r.headers["idempotency-key"] for r in script.requests}
    assert job.job_id == JOB and len(script.requests) == 3 and len(keys) == 1
    assert json.loads(script.requests[0].content) == {"request": {"query": "q"},
                                                      "priority": "high"}


def test_submit_uses_the_callers_key_and_sends_the_token(
    sleeps: list[float], flavour: Flavour
) -> None:
    script = Script(httpx.Response(202, json=SUBMITTED))
    with client(flavour, script) as c:
        c.submit(jobgate.MultiAgentRequest(query="q"), idempotency_key="mine")
    request = script.requests[0]
    assert request.headers["idempotency-key"] == "mine"
    assert request.headers["authorization"] == "Bearer tok"
    assert json.loads(request.content)["request"]["query"] == "q"


def test_job_ids_cannot_escape_the_path(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(404, json={"detail": "job not found", "code": "not_found"}))
    with client(flavour, script) as c, pytest.raises(jobgate.NotFound):
        c.status("../../admin")
    assert script.requests[0].url.raw_path.startswith(b"/api/multi-agent/jobs/..%2F..%2Fadmin")


def test_result_of_a_running_job_is_job_not_done(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(httpx.Response(202, json=status_body()))
    with client(flavour, script) as c, pytest.raises(jobgate.JobNotDone) as info:
        c.result(JOB)
    assert info.value.status.progress == 0.5


def test_env_gives_url_and_token(monkeypatch: pytest.MonkeyPatch, flavour: Flavour) -> None:
    monkeypatch.setenv("JOBGATE_URL", "http://from-env:9/")
    monkeypatch.setenv("JOBGATE_TOKEN", "env-token")
    with make_client(flavour) as c:
        assert c.base_url == "http://from-env:9"
        assert c._http.headers["authorization"] == "Bearer env-token"
    monkeypatch.setenv("JOBGATE_URL", "")  # empty is unset
    with make_client(flavour, token="t") as c:
        assert c.base_url == "http://127.0.0.1:8000"


# -- waiting ----------------------------------------------------------------------

def sse(*events: tuple[str, str, dict[str, Any]]) -> bytes:
    return b"".join(
        f": ping\n\nid: {i}\nevent: {t}\ndata: {json.dumps(d)}\n\n".encode()
        for i, t, d in events
    )


def router(events: Handler, status: Handler | None = None, result: Handler | None = None
           ) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/events"):
            return events(request)
        if path.endswith("/status") and status is not None:
            return status(request)
        if path.endswith("/result"):
            return (result or (lambda r: httpx.Response(200, json=result_body())))(request)
        return httpx.Response(500)
    return handle


def test_wait_resumes_the_stream_with_last_event_id(sleeps: list[float], flavour: Flavour) -> None:
    parts = [
        sse(("1-0", "state", {"status": "processing", "attempt": 1, "message": "run"}),
            ("2-0", "progress", {"progress": 0.5, "message": "half", "step": {"agent": "a"}})),
        # the server resends 2-0 (it must be dropped), then ends the job
        sse(("2-0", "progress", {"progress": 0.5, "message": "half", "step": None}),
            ("3-0", "state", {"status": "completed", "attempt": 1, "message": "done"})),
    ]
    seen_ids: list[str | None] = []

    def events(request: httpx.Request) -> httpx.Response:
        seen_ids.append(request.headers.get("last-event-id"))
        return httpx.Response(200, content=parts.pop(0),
                              headers={"content-type": "text/event-stream"})

    script = Script(router(events))
    got: list[jobgate.JobEvent] = []
    progress: list[jobgate.Progress] = []
    with client(flavour, script) as c:
        result = c.wait(JOB, on_event=got.append, on_progress=progress.append)
    assert result.result == {"response": "hi"}
    assert seen_ids == [None, "2-0"]
    assert [e.id for e in got] == ["1-0", "2-0", "3-0"]
    assert progress[1].step is not None and progress[1].step.agent == "a"
    assert progress[-1].status is jobgate.JobState.COMPLETED


@pytest.mark.parametrize("refusal", [404, 405, 501])
def test_wait_falls_back_to_long_poll_when_sse_is_refused(
    sleeps: list[float], refusal: int, flavour: Flavour
) -> None:
    states = iter([status_body("processing", 0.5), status_body("completed", 1.0)])
    script = Script(router(lambda r: httpx.Response(refusal, text="<html>"),
                           lambda r: httpx.Response(200, json=next(states))))
    with client(flavour, script) as c:
        result = c.wait(JOB)
    assert result.status is jobgate.JobState.COMPLETED
    polls = [r for r in script.requests if r.url.path.endswith("/status")]
    assert [r.url.params.get("wait") for r in polls] == ["25.0", "25.0"]


def test_wait_falls_back_to_plain_polling_without_long_poll(
    sleeps: list[float], flavour: Flavour
) -> None:
    states = iter([status_body("processing", 0.5), status_body("completed", 1.0)])

    def status(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("wait"):
            return httpx.Response(422, json={"detail": "no wait", "code": "invalid_request"})
        return httpx.Response(200, json=next(states), headers={"Retry-After": "3"})

    script = Script(router(lambda r: httpx.Response(200, text="<html>buffered</html>"), status))
    with client(flavour, script) as c:
        c.wait(JOB)
    assert sleeps == [3.0]


@pytest.mark.parametrize("error", [
    {"error": "Job failed: LLM down", "error_code": "llm_unavailable", "error_detail": "LLM down"},
    {"error": {"code": "llm_unavailable", "message": "LLM down"}},  # a server before the string
], ids=["string", "old-object"])
def test_a_failed_job_raises_job_failed_with_the_servers_error(
    sleeps: list[float], error: dict[str, Any], flavour: Flavour
) -> None:
    failed = result_body("failed", result=None, **error)
    script = Script(router(
        lambda r: httpx.Response(200, content=sse(("1-0", "state", {"status": "failed"})),
                                 headers={"content-type": "text/event-stream"}),
        result=lambda r: httpx.Response(200, json=failed)))
    with client(flavour, script) as c, pytest.raises(jobgate.JobFailed) as info:
        c.wait(JOB)
    failure = info.value
    assert failure.message == "Job failed: LLM down"
    assert failure.code == "llm_unavailable" and failure.detail == "LLM down"
    assert failure.result.error == "Job failed: LLM down"
    assert failure.result.error_code == "llm_unavailable"
    assert "Job failed: LLM down" in str(failure) and JOB in str(failure)


def test_a_failed_job_without_details_still_says_so(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(router(
        lambda r: httpx.Response(405),
        lambda r: httpx.Response(200, json=status_body("failed", 0.2)),
        lambda r: httpx.Response(200, json=result_body("failed", result=None))))
    with client(flavour, script) as c, pytest.raises(jobgate.JobFailed) as info:
        c.wait(JOB)
    assert (info.value.code, info.value.message, info.value.detail) == (
        "failed", "Job failed: the job failed", "the job failed")


def test_a_cancelled_job_raises_job_cancelled(sleeps: list[float], flavour: Flavour) -> None:
    cancelled = result_body("cancelled", result=None, error="Job cancelled: by its owner",
                            error_code="cancelled", error_detail="by its owner")
    script = Script(router(
        lambda r: httpx.Response(404, json={"detail": "x", "code": "not_found"}),
        lambda r: httpx.Response(200, json=status_body("cancelled", 0.2)),
        lambda r: httpx.Response(200, json=cancelled)))
    with client(flavour, script) as c, pytest.raises(jobgate.JobCancelled) as info:
        c.wait(JOB)
    assert info.value.code == "cancelled" and info.value.message == "Job cancelled: by its owner"
    assert info.value.detail == "by its owner"


def test_an_error_answer_carries_the_servers_one_line_message(flavour: Flavour) -> None:
    body = {
        "detail": [{"loc": ["body", "request", "primary_agent"], "msg": "Input should be …",
                    "type": "enum"}],
        "code": "invalid_request",
        "message": "request.primary_agent: Input should be 'research', … (got 'foo')",
    }
    script = Script(httpx.Response(422, json=body))
    with client(flavour, script) as c, pytest.raises(jobgate.APIError) as info:
        c.submit({"query": "q", "primary_agent": "foo"})
    err = info.value
    assert err.status_code == 422 and err.code == "invalid_request"
    assert err.detail == body["detail"]  # FastAPI's list, as sent
    assert err.message == body["message"]
    assert str(err) == f"HTTP 422 (invalid_request): {body['message']}"
    plain = Script(httpx.Response(404, json={"detail": "no such job", "code": "not_found"}))
    with client(flavour, plain) as c, pytest.raises(jobgate.NotFound) as missing:
        c.status(JOB)
    assert missing.value.message == "no such job"


def test_wait_times_out(sleeps: list[float], flavour: Flavour) -> None:
    script = Script(router(lambda r: httpx.Response(405),
                           lambda r: httpx.Response(200, json=status_body())))
    with client(flavour, script, channel="poll") as c, pytest.raises(jobgate.JobTimeout):
        c.wait(JOB, timeout=0.0)


async def test_async_callbacks_may_be_coroutines(sleeps: list[float]) -> None:
    script = Script(router(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(
            ("1-0", "progress", {"progress": 0.5, "message": "half"}),
            ("2-0", "state", {"status": "completed", "attempt": 1, "message": "done"})))))
    seen: list[float] = []

    async def on_progress(p: jobgate.Progress) -> None:
        seen.append(p.progress)

    async with jobgate.AsyncClient("http://x", "t", transport=httpx.MockTransport(script)) as c:
        await c.wait(JOB, on_progress=on_progress)
    assert seen == [0.5, 0.5]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that takes connections and never answers (a hung upstream)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("channel", ["auto", "long_poll", "poll"])
def test_a_wait_on_a_server_that_never_answers_times_out(
    silent_server: str, flavour: Flavour, channel: str
) -> None:
    """The deadline bounds every request of the wait, not only the pauses between."""
    with make_client(flavour, silent_server, "t", channel=channel) as c:
        started = time.monotonic()
        with pytest.raises(jobgate.JobTimeout) as info:
            c.wait(JOB, timeout=0.3)
    assert time.monotonic() - started < 3
    assert info.value.job_id == JOB and info.value.timeout == 0.3
