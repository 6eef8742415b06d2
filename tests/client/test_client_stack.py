"""Both clients against real `jobgate api` + `jobgate worker` processes."""

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
from tests.client.conftest import SEQUENTIAL, AsyncRecording, MakeStack, Recording
from tests.server import Stack

PARALLEL = {"query": "a todo app for cats", "coordination_mode": "parallel"}


def all_events(stack: Stack, job_id: str) -> list[jobgate.JobEvent]:
    """The job's whole event log, read raw (no client code) after it ended."""
    decoder = SSEDecoder()
    with httpx.stream("GET", f"{stack.url}/api/multi-agent/jobs/{job_id}/events",
                      headers=stack.headers(), timeout=10) as r:
        events = [e for line in r.iter_lines() if (e := decoder.feed(line)) is not None]
    result = [e for e in events if e.type == "result"]
    assert len(result) == 1 and events[-2] is result[0]  # just before the terminal event
    return [e for e in events if e.type != "result"]  # the log


def wait_until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_every_method_sync(stack: Stack) -> None:
    with jobgate.Client(stack.url, stack.token()) as c:
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
        assert c.status(job.job_id, wait=1).status is jobgate.JobState.COMPLETED
        response = c.run(jobgate.MultiAgentRequest(query="cats", coordination_mode="debate",
                                                   supporting_agents=["research", "analysis"]))
        assert isinstance(response, jobgate.MultiAgentResponse)
        assert response.coordination_mode == "debate"
        assert response.metadata["backend"] == "simulated"


async def test_every_method_async(slow_stack: Stack) -> None:
    async with jobgate.AsyncClient(slow_stack.url, slow_stack.token()) as c:
        job = await c.submit(SEQUENTIAL)
        with pytest.raises(jobgate.JobNotDone):
            await c.result(job.job_id)
        cancelled = await c.cancel(job.job_id)
        assert cancelled.job_id == job.job_id
        with pytest.raises(jobgate.JobCancelled) as info:
            await c.wait(job.job_id)
        assert info.value.result.status is jobgate.JobState.CANCELLED
        assert info.value.code == "cancelled" == info.value.result.error_code
        assert info.value.message.startswith("Job cancelled: ")
        assert info.value.message == info.value.result.error
        assert (await c.result(job.job_id)).status is jobgate.JobState.CANCELLED
        assert [j.job_id for j in (await c.jobs(limit=5)).jobs] == [job.job_id]
        progress: list[jobgate.Progress] = []
        response = await c.run(PARALLEL, on_progress=progress.append)
        assert response.coordination_mode == "parallel"
        assert progress[-1].status is jobgate.JobState.COMPLETED
        assert any(p.step is not None and p.step.agent for p in progress)


def test_unknown_job_and_bad_token(stack: Stack) -> None:
    with jobgate.Client(stack.url, stack.token()) as c:
        for call in (c.status, c.result, c.cancel, c.wait):
            with pytest.raises(jobgate.NotFound):
                call(str(uuid.uuid4()))
    with jobgate.Client(stack.url, "not-a-token") as c, pytest.raises(jobgate.AuthError):
        c.jobs()
    with jobgate.Client(stack.url, stack.token("bob")) as bob, \
            jobgate.Client(stack.url, stack.token("alice")) as alice:
        job = alice.submit(PARALLEL)
        with pytest.raises(jobgate.NotFound):
            bob.status(job.job_id)


def test_invalid_request_is_a_422_api_error(stack: Stack) -> None:
    with jobgate.Client(stack.url, stack.token()) as c, pytest.raises(jobgate.APIError) as info:
        c.submit({"query": "q", "primary_agent": "nobody"})
    assert info.value.status_code == 422 and info.value.code == "invalid_request"


def test_same_idempotency_key_same_job(stack: Stack) -> None:
    with jobgate.Client(stack.url, stack.token()) as c:
        first = c.submit(PARALLEL, idempotency_key="k-1")
        second = c.submit(PARALLEL, idempotency_key="k-1")
        assert second.job_id == first.job_id
        assert c.submit(PARALLEL).job_id != first.job_id
        assert len(c.jobs().jobs) == 2


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


def test_a_retried_submit_never_makes_a_second_job(stack: Stack) -> None:
    transport = DropFirstSubmitAnswer()
    with jobgate.Client(stack.url, stack.token(), transport=transport) as c:
        job = c.submit(PARALLEL)
        submits = transport.paths("/submit")
        assert len(submits) == 2
        assert submits[0].headers["idempotency-key"] == submits[1].headers["idempotency-key"]
        assert [j.job_id for j in c.jobs().jobs] == [job.job_id]
        assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


def test_sse_resumes_across_server_closed_streams(make_stack: MakeStack) -> None:
    """The server closes every stream after 1 s; the client reconnects with
    Last-Event-ID and sees each event exactly once, in order."""
    stack = make_stack(JOBGATE_SSE_MAX_CONNECTION_S="1", JOBGATE_SIM_STEP_S="0.5")
    transport = Recording()
    got: list[jobgate.JobEvent] = []
    with jobgate.Client(stack.url, stack.token(), transport=transport) as c:
        job = c.submit(SEQUENTIAL)
        result = c.wait(job.job_id, on_event=got.append)
        assert result == c.result(job.job_id)
    assert len(transport.paths("/result")) == 1  # ours just now: the stream sent it
    connections = transport.paths("/events")
    assert len(connections) >= 3
    resumed = [r.headers.get("last-event-id") for r in connections]
    assert resumed[0] is None and all(resumed[1:])
    assert transport.paths("/status") == []  # no polling needed
    assert [e.id for e in got] == [e.id for e in all_events(stack, job.job_id)]
    assert got[-1].type == "state" and got[-1].data["status"] == "completed"
    assert sum(e.type == "agent_output" for e in got) == 7


async def test_sse_resumes_after_the_api_process_is_killed(make_stack: MakeStack) -> None:
    stack = make_stack(JOBGATE_SIM_STEP_S="0.6")
    got: list[jobgate.JobEvent] = []
    two_steps = asyncio.Event()

    def on_event(e: jobgate.JobEvent) -> None:
        got.append(e)
        if sum(x.type == "agent_output" for x in got) >= 2:
            two_steps.set()

    transport = AsyncRecording()
    async with jobgate.AsyncClient(stack.url, stack.token(), transport=transport) as c:
        job = await c.submit(SEQUENTIAL)
        waiting = asyncio.create_task(c.wait(job.job_id, on_event=on_event))
        await asyncio.wait_for(two_steps.wait(), 20)
        stack.apis[0].kill()
        await asyncio.sleep(0.5)  # events land while no API is up
        await asyncio.to_thread(stack.start_api, stack.ports[0])
        result = await asyncio.wait_for(waiting, 30)
    assert result.status is jobgate.JobState.COMPLETED
    assert len(transport.paths("/events")) >= 2
    ids = [e.id for e in got]
    assert ids == [e.id for e in all_events(stack, job.job_id)]
    assert len(set(ids)) == len(ids)


def test_falls_back_to_long_poll_when_events_are_refused(stack: Stack) -> None:
    transport = Recording(refuse={"/events": 405})
    progress: list[jobgate.Progress] = []
    with jobgate.Client(stack.url, stack.token(), transport=transport) as c:
        response = c.run(PARALLEL, on_progress=progress.append)
    assert response.coordination_mode == "parallel"
    assert len(transport.paths("/events")) == 1
    polls = transport.paths("/status")
    assert polls and all(r.url.params.get("wait") for r in polls)
    assert progress[-1].status is jobgate.JobState.COMPLETED


async def test_plain_polling_channel(stack: Stack) -> None:
    transport = AsyncRecording()
    async with jobgate.AsyncClient(stack.url, stack.token(), channel="poll",
                                   transport=transport) as c:
        response = await c.run(PARALLEL)
    assert response.primary_agent
    assert transport.paths("/events") == []
    assert all(not r.url.params.get("wait") for r in transport.paths("/status"))


def test_a_failed_job_is_job_failed_with_the_servers_code(make_stack: MakeStack) -> None:
    stack = make_stack(JOBGATE_LLM_BACKEND="openai", JOBGATE_LLM_BASE_URL="http://127.0.0.1:9",
                       JOBGATE_LLM_API_KEY="sk-test", JOBGATE_LLM_TIMEOUT_S="2",
                       JOBGATE_RETRY_MAX_S="0.2")
    with jobgate.Client(stack.url, stack.token()) as c, pytest.raises(jobgate.JobFailed) as info:
        c.run(PARALLEL, timeout=60)
    failure = info.value
    assert failure.code == "llm_unavailable", failure
    assert failure.result.status is jobgate.JobState.FAILED and failure.result.attempt == 3
    # The server's words, in the old app's form, and their parts.
    assert failure.message == failure.result.error == "Job failed: " + failure.detail
    assert failure.detail == failure.result.error_detail and failure.detail
    assert failure.result.error_code == "llm_unavailable"
    with jobgate.Client(stack.url, stack.token()) as c:
        status = c.status(failure.job_id)
    assert (status.error, status.error_code) == (failure.message, failure.code)


def test_wait_timeout_leaves_the_job_running(slow_stack: Stack) -> None:
    with jobgate.Client(slow_stack.url, slow_stack.token()) as c:
        job = c.submit(SEQUENTIAL)
        started = time.monotonic()
        with pytest.raises(jobgate.JobTimeout):
            c.wait(job.job_id, timeout=0.5)
        assert time.monotonic() - started < 3
        assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


async def test_cancelling_the_waiting_task_leaves_the_job_running(slow_stack: Stack) -> None:
    async with jobgate.AsyncClient(slow_stack.url, slow_stack.token()) as c:
        job = await c.submit(SEQUENTIAL)
        started = asyncio.Event()
        task = asyncio.create_task(c.wait(job.job_id, on_progress=lambda p: started.set()))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await c.status(job.job_id)).status in (jobgate.JobState.PENDING,
                                                       jobgate.JobState.PROCESSING)
        assert (await c.wait(job.job_id)).status is jobgate.JobState.COMPLETED


async def test_cancel_on_abort_cancels_the_job(slow_stack: Stack) -> None:
    async with jobgate.AsyncClient(slow_stack.url, slow_stack.token()) as c:
        job = await c.submit(SEQUENTIAL)
        started = asyncio.Event()
        task = asyncio.create_task(c.wait(job.job_id, on_progress=lambda p: started.set(),
                                          cancel_on_abort=True))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await c.status(job.job_id)).status is jobgate.JobState.CANCELLED


@pytest.mark.parametrize("cancel_on_abort", [False, True])
def test_ctrl_c_during_a_sync_wait(slow_stack: Stack, cancel_on_abort: bool) -> None:
    def interrupt(p: jobgate.Progress) -> None:
        if p.status is jobgate.JobState.PROCESSING:
            raise KeyboardInterrupt

    with jobgate.Client(slow_stack.url, slow_stack.token()) as c:
        job = c.submit(SEQUENTIAL)
        with pytest.raises(KeyboardInterrupt):
            c.wait(job.job_id, on_progress=interrupt, cancel_on_abort=cancel_on_abort)
        state = c.status(job.job_id).status
        if cancel_on_abort:
            assert state is jobgate.JobState.CANCELLED
        else:
            assert state is jobgate.JobState.PROCESSING
            assert c.wait(job.job_id).status is jobgate.JobState.COMPLETED


def test_many_waiters_in_threads(stack: Stack) -> None:
    """One Client shared by threads (httpx.Client is thread-safe)."""
    results: list[str] = []
    with jobgate.Client(stack.url, stack.token()) as c:
        def one() -> None:
            results.append(c.run(PARALLEL).primary_agent)

        threads = [threading.Thread(target=one) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(results) == 5
