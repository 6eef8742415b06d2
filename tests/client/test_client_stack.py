"""Both clients against real `jobgate api` + `jobgate worker` processes: every
test runs once with `Client` and once with `AsyncClient` (the `flavour`)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

import jobgate
from jobgate.client._sse import SSEDecoder
from tests.client.conftest import (
    SEQUENTIAL,
    AnyClient,
    AsyncDriven,
    Flavour,
    MakeStack,
    Recording,
    make_client,
    recording,
)
from tests.server import Stack

PARALLEL = {"query": "a todo app for cats", "coordination_mode": "parallel"}


def all_events(stack: Stack, job_id: str, sub: str = "alice") -> list[jobgate.JobEvent]:
    """The job's whole event log, read raw (no client code) after it ended."""
    decoder = SSEDecoder()
    with httpx.stream("GET", f"{stack.url}/api/multi-agent/jobs/{job_id}/events",
                      headers=stack.headers(sub), timeout=10) as r:
        events = [e for line in r.iter_lines() if (e := decoder.feed(line)) is not None]
    result = [e for e in events if e.type == "result"]
    assert len(result) == 1 and events[-2] is result[0]  # just before the terminal event
    return [e for e in events if e.type != "result"]  # the log


def test_every_method(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, stack.token()) as c:
        job = c.submit(PARALLEL, priority="high")
        assert isinstance(job, jobgate.JobSubmitResponse)
        assert job.status is jobgate.JobState.PENDING
        status = c.status(job.job_id)
        assert isinstance(status, jobgate.JobStatusResponse) and status.job_id == job.job_id
        result = c.wait(job.job_id)
        assert result.status is jobgate.JobState.COMPLETED
        again = c.result(job.job_id)
        assert isinstance(again, jobgate.JobResultResponse) and again.result == result.result
        listed = c.jobs()
        assert [j.job_id for j in listed.jobs] == [job.job_id] and listed.jobs[0].priority == "high"
        assert [j.job_id for j in c.jobs(limit=5).jobs] == [job.job_id]
        assert c.status(job.job_id, wait=1).status is jobgate.JobState.COMPLETED
        progress: list[jobgate.Progress] = []
        response = c.run(jobgate.MultiAgentRequest(query="cats", coordination_mode="debate",
                                                   supporting_agents=["research", "analysis"]),
                         on_progress=progress.append)
        assert isinstance(response, jobgate.MultiAgentResponse)
        assert response.coordination_mode == "debate"
        assert response.metadata["backend"] == "simulated"
        assert progress[-1].status is jobgate.JobState.COMPLETED
        assert any(p.step is not None and p.step.agent for p in progress)


def test_a_cancelled_job(make_stack: MakeStack, flavour: Flavour) -> None:
    stack = make_stack(workers=0)  # no worker: the job holds still until it is cancelled
    with make_client(flavour, stack.url, stack.token()) as c:
        job = c.submit(SEQUENTIAL)
        with pytest.raises(jobgate.JobNotDone):
            c.result(job.job_id)
        cancelled = c.cancel(job.job_id)
        assert cancelled.job_id == job.job_id
        with pytest.raises(jobgate.JobCancelled) as info:
            c.wait(job.job_id)
        assert info.value.result.status is jobgate.JobState.CANCELLED
        assert info.value.code == "cancelled" == info.value.result.error_code
        assert info.value.message.startswith("Job cancelled: ")
        assert info.value.message == info.value.result.error
        assert c.result(job.job_id).status is jobgate.JobState.CANCELLED


def test_unknown_job_and_bad_token(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, stack.token()) as c:
        for call in (c.status, c.result, c.cancel, c.wait):
            with pytest.raises(jobgate.NotFound):
                call(str(uuid.uuid4()))
    with make_client(flavour, stack.url, "not-a-token") as c, pytest.raises(jobgate.AuthError):
        c.jobs()
    with make_client(flavour, stack.url, stack.token("bob")) as bob, \
            make_client(flavour, stack.url, stack.token("alice")) as alice:
        job = alice.submit(PARALLEL)
        with pytest.raises(jobgate.NotFound):
            bob.status(job.job_id)


def test_invalid_request_is_a_422_api_error(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, stack.token()) as c, \
            pytest.raises(jobgate.APIError) as info:
        c.submit({"query": "q", "primary_agent": "nobody"})
    assert info.value.status_code == 422 and info.value.code == "invalid_request"


def test_same_idempotency_key_same_job(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, stack.token()) as c:
        first = c.submit(PARALLEL, idempotency_key="k-1")
        second = c.submit(PARALLEL, idempotency_key="k-1")
        assert second.job_id == first.job_id
        assert c.submit(PARALLEL).job_id != first.job_id
        assert len(c.jobs().jobs) == 2


def test_a_prefix_of_ones_own(stack: Stack, flavour: Flavour) -> None:
    """The job routes' prefix is the client's to set: a wrong one finds nothing."""
    with make_client(flavour, stack.url, stack.token(), prefix="api/multi-agent/") as c:
        assert c.wait(c.submit(PARALLEL).job_id).status is jobgate.JobState.COMPLETED
    with make_client(flavour, stack.url, stack.token(), prefix="/api/other") as c, \
            pytest.raises(jobgate.NotFound):
        c.jobs()


class DropFirstSubmitAnswer(Recording):
    """Lets the first submit reach the server, then loses its answer on the way back."""

    dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/submit") and not self.dropped:
            self.dropped = True
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the server got the request")
        return response


class AsyncDropFirstSubmitAnswer(httpx.AsyncHTTPTransport):
    """The asyncio twin of `DropFirstSubmitAnswer`."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = await super().handle_async_request(request)
        if request.url.path.endswith("/submit") and not self.dropped:
            self.dropped = True
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection reset after the server got the request")
        return response

    def paths(self, suffix: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.path.endswith(suffix)]


def test_a_retried_submit_never_makes_a_second_job(stack: Stack, flavour: Flavour) -> None:
    transport: Any = DropFirstSubmitAnswer() if flavour == "sync" else AsyncDropFirstSubmitAnswer()
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        job = c.submit(PARALLEL)
        submits = transport.paths("/submit")
        assert len(submits) == 2
        assert submits[0].headers["idempotency-key"] == submits[1].headers["idempotency-key"]
        assert [j.job_id for j in c.jobs().jobs] == [job.job_id]
        assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


def test_sse_resumes_across_server_closed_streams(make_stack: MakeStack, flavour: Flavour) -> None:
    """The server closes every stream after 1 s; the client reconnects with
    Last-Event-ID and sees each event exactly once, in order."""
    stack = make_stack(JOBGATE_SSE_MAX_CONNECTION_S="1", JOBGATE_SIM_STEP_S="0.5")
    transport = recording(flavour)
    got: list[jobgate.JobEvent] = []
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        job = c.submit(SEQUENTIAL)
        result = c.wait(job.job_id, on_event=got.append)
        assert result == c.result(job.job_id)
    assert len(transport.paths("/result")) == 1  # ours just now: the stream sent it
    connections = transport.paths("/events")
    assert len(connections) >= 3
    resumed = [r.headers.get("last-event-id") for r in connections]
    assert resumed[0] is None and all(resumed[1:])
    # No fallback to polling: at most a plain status check after a connection that
    # happened to bring nothing new (a slow machine), and the end came by the stream.
    checks = transport.paths("/status")
    assert len(checks) < len(connections) and not any(r.url.params.get("wait") for r in checks)
    assert [e.id for e in got] == [e.id for e in all_events(stack, job.job_id)]
    assert got[-1].type == "state" and got[-1].data["status"] == "completed"
    assert sum(e.type == "agent_output" for e in got) == 7


def test_sse_resumes_after_the_api_process_is_killed(
    make_stack: MakeStack, flavour: Flavour
) -> None:
    """The API is killed once two agents have answered (the callback does it,
    so the wait is mid-stream), and started again on its port."""
    stack = make_stack(JOBGATE_SIM_STEP_S="0.6")
    got: list[jobgate.JobEvent] = []
    restart = threading.Thread(target=stack.start_api, args=(stack.ports[0],))

    def on_event(e: jobgate.JobEvent) -> None:
        got.append(e)
        if restart.ident is None and sum(x.type == "agent_output" for x in got) >= 2:
            stack.apis[0].kill()
            restart.start()

    transport = recording(flavour)
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        job = c.submit(SEQUENTIAL)
        result = c.wait(job.job_id, on_event=on_event, timeout=60)
    restart.join(30)
    assert result.status is jobgate.JobState.COMPLETED
    assert len(transport.paths("/events")) >= 2
    ids = [e.id for e in got]
    assert ids == [e.id for e in all_events(stack, job.job_id)]
    assert len(set(ids)) == len(ids)


def test_falls_back_to_long_poll_when_events_are_refused(stack: Stack, flavour: Flavour) -> None:
    transport = recording(flavour, refuse={"/events": 405})
    progress: list[jobgate.Progress] = []
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        response = c.run(PARALLEL, on_progress=progress.append)
    assert response.coordination_mode == "parallel"
    assert len(transport.paths("/events")) == 1
    polls = transport.paths("/status")
    assert polls and all(r.url.params.get("wait") for r in polls)
    assert progress[-1].status is jobgate.JobState.COMPLETED


def test_plain_polling_channel(stack: Stack, flavour: Flavour) -> None:
    transport = recording(flavour)
    with make_client(flavour, stack.url, stack.token(), channel="poll",
                     transport=transport) as c:
        response = c.run(PARALLEL)
    assert response.primary_agent
    assert transport.paths("/events") == []
    polls = transport.paths("/status")
    assert polls and all(not r.url.params.get("wait") for r in polls)


def test_a_failed_job_is_job_failed_with_the_servers_code(
    make_stack: MakeStack, flavour: Flavour
) -> None:
    stack = make_stack(JOBGATE_LLM_BACKEND="openai", JOBGATE_LLM_BASE_URL="http://127.0.0.1:9",
                       JOBGATE_LLM_API_KEY="sk-test", JOBGATE_LLM_TIMEOUT_S="2",
                       JOBGATE_RETRY_MAX_S="0.2")
    with make_client(flavour, stack.url, stack.token()) as c, \
            pytest.raises(jobgate.JobFailed) as info:
        c.run(PARALLEL, timeout=60)
    failure = info.value
    assert failure.code == "llm_unavailable", failure
    assert failure.result.status is jobgate.JobState.FAILED and failure.result.attempt == 3
    # The server's words, in the old app's form, and their parts.
    assert failure.message == failure.result.error == "Job failed: " + failure.detail
    assert failure.detail == failure.result.error_detail and failure.detail
    assert failure.result.error_code == "llm_unavailable"
    with make_client(flavour, stack.url, stack.token()) as c:
        status = c.status(failure.job_id)
    assert (status.error, status.error_code) == (failure.message, failure.code)


def test_wait_timeout_leaves_the_job_running(make_stack: MakeStack, flavour: Flavour) -> None:
    stack = make_stack(workers=0)  # the job stays pending: only the timeout can end the wait
    with make_client(flavour, stack.url, stack.token()) as c:
        job = c.submit(SEQUENTIAL)
        started = time.monotonic()
        with pytest.raises(jobgate.JobTimeout) as info:
            c.wait(job.job_id, timeout=0.5)
        assert time.monotonic() - started < 5 and info.value.job_id == job.job_id
        assert c.status(job.job_id).status is jobgate.JobState.PENDING
        stack.start_worker()
        assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


def stop_a_wait(c: AnyClient, job_id: str, cancel_on_abort: bool) -> None:
    """Stop a running wait as a user would: Ctrl-C for `Client` (raised in a
    callback, so it lands mid-wait), a cancelled task for `AsyncClient`."""
    if isinstance(c, AsyncDriven):
        async def cancel_it() -> None:
            started = asyncio.Event()
            task = asyncio.create_task(c.client.wait(
                job_id, on_progress=lambda p: started.set(), cancel_on_abort=cancel_on_abort))
            await asyncio.wait_for(started.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        c.run_async(cancel_it())
        return

    def interrupt(p: jobgate.Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        c.wait(job_id, on_progress=interrupt, cancel_on_abort=cancel_on_abort)


@pytest.mark.parametrize("cancel_on_abort", [False, True])
def test_stopping_a_wait(make_stack: MakeStack, flavour: Flavour, cancel_on_abort: bool) -> None:
    """The job is left alone, unless `cancel_on_abort`. No worker: it holds still."""
    stack = make_stack(workers=0)
    with make_client(flavour, stack.url, stack.token()) as c:
        job = c.submit(SEQUENTIAL)
        stop_a_wait(c, job.job_id, cancel_on_abort)
        state = c.status(job.job_id).status
        if cancel_on_abort:
            assert state is jobgate.JobState.CANCELLED
        else:
            assert state is jobgate.JobState.PENDING
            stack.start_worker()
            assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


def test_many_waiters_on_one_client(stack: Stack, flavour: Flavour) -> None:
    """One client shared by five waits at once: threads for `Client` (httpx.Client
    is thread-safe), tasks for `AsyncClient`."""
    with make_client(flavour, stack.url, stack.token()) as c:
        if isinstance(c, AsyncDriven):
            async def five() -> list[str]:
                runs = [c.client.run(PARALLEL) for _ in range(5)]
                return [r.primary_agent for r in await asyncio.gather(*runs)]

            results = c.run_async(five())
        else:
            results = []

            def one() -> None:
                results.append(c.run(PARALLEL).primary_agent)

            threads = [threading.Thread(target=one) for _ in range(5)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
    assert len(results) == 5 and all(results)
