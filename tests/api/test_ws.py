"""The WebSocket `/api/multi-agent/ws` against real `jobgate api` processes.

`running` has a worker (jobs run to the end on their own); `held` has none:
its jobs move only when a handler run by the test is let through, so no
test races a worker. Message shapes: docs/websocket.md.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from jobgate.embedded import EmbeddedValkey
from tests.api.feeds import (
    Held,
    bearer,
    ends,
    follow_to_end,
    log_ids,
    metric,
    open_ws,
    recv,
    run_held,
    send,
    submit,
    until,
    until_metric,
    ws_url,
)
from tests.server import Stack


@pytest.fixture(scope="module")
def running(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(valkey.url, f"ws-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("ws"),
              extra_env={"JOBGATE_SIM_STEP_S": "0.05", "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "20",
                         "JOBGATE_WS_HEARTBEAT_S": "1", "JOBGATE_WS_AUTH_TIMEOUT_S": "1",
                         "JOBGATE_WS_MAX_SOCKETS_PER_USER": "3"})
    s.start_api()
    s.start_worker(concurrency=16)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def held(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two API processes, no worker: a job submitted on one is news on the other."""
    s = Stack(valkey.url, f"wsheld-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("wsheld"),
              extra_env={"JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "20",
                         "JOBGATE_WS_SEND_TIMEOUT_S": "3", "JOBGATE_WS_SEND_BUFFER_BYTES": "65536"})
    s.start_api()
    s.start_api()
    yield s
    s.stop()


@pytest.fixture
def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http(running: Stack, user: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.url, headers=bearer(running, user),
                                 timeout=60) as c:
        yield c


@pytest.fixture
async def held_http(held: Stack, user: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=held.url, headers=bearer(held, user), timeout=60) as c:
        yield c


# -- many jobs on one socket ------------------------------------------------------


async def test_ten_jobs_on_one_socket_each_with_its_result_and_end(
    running: Stack, http: httpx.AsyncClient, user: str
) -> None:
    jobs = [await submit(http, f"job {i}") for i in range(10)]
    async with open_ws(running.url, bearer(running, user)) as ws:
        for job_id in jobs:
            await send(ws, type="subscribe", job_id=job_id)
        per_job = await follow_to_end(ws, set(jobs))
    for job_id, messages in per_job.items():
        assert messages[0] == {"type": "ack", "op": "subscribe", "job_id": job_id}
        events = [m for m in messages if m["type"] == "event"]
        assert events[0]["id"] == "0-1" and events[0]["data"]["status"] == "pending"
        assert ends(events[-1]) and events[-1]["data"]["status"] == "completed"
        result = messages[-2]  # just before the terminal event
        assert result["type"] == "result" and result["data"]["job_id"] == job_id
        assert result["data"]["status"] == "completed" and result["data"]["result"]
        # the same events, with the same ids, as the job's own SSE stream
        assert [e["id"] for e in events] == await log_ids(http, job_id)
        assert {e["job_id"] for e in events} == {job_id}


async def test_subscribe_all_sees_a_job_submitted_later_through_another_process(
    held: Stack, held_http: httpx.AsyncClient, user: str
) -> None:
    before = await submit(held_http, "submitted before")
    other = held.url.replace(str(held.ports[0]), str(held.ports[1]))
    async with open_ws(other, bearer(held, user)) as ws:
        await send(ws, type="subscribe", all=True)
        first = await until(ws, lambda m: m["type"] == "event")
        assert {"type": "ack", "op": "subscribe", "all": True} in first
        assert first[-1]["job_id"] == before and first[-1]["id"] == "0-1"
        async with httpx.AsyncClient(base_url=held.url, headers=bearer(held, "someone-else"),
                                     timeout=60) as stranger:
            theirs = await submit(stranger, "not yours")
        later = await submit(held_http, "submitted after")  # through the first process
        got = await until(ws, lambda m: m.get("job_id") == later)
        assert got[-1] == {"type": "event", "job_id": later, "id": "0-1", "event": "state",
                           "data": {"status": "pending", "attempt": 0, "message": "queued"}}
        assert all(m.get("job_id") != theirs for m in got)
        for job_id in (before, later):  # cancelled over the socket: its end comes too
            await send(ws, type="cancel", job_id=job_id)
            messages = await _acked_and_ended(ws, job_id)
            assert {"type": "ack", "op": "cancel", "job_id": job_id,
                    "status": "cancelled"} in messages
            sent = [m for m in messages if m["type"] != "ack"]
            assert [m["type"] for m in sent[-2:]] == ["result", "event"]
            assert sent[-1]["data"]["status"] == "cancelled"
            assert sent[-2]["data"]["error"] == "Job cancelled: cancelled by user"


async def _acked_and_ended(ws: object, job_id: str) -> list[dict[str, object]]:
    """The job's messages until both the cancel's ack and its terminal event came
    (in either order: the follower and the command run side by side)."""
    got: list[dict[str, object]] = []
    while not (any(m["type"] == "ack" for m in got) and any(ends(m) for m in got)):
        m = await recv(ws)  # type: ignore[arg-type]
        if m.get("job_id") == job_id:
            got.append(m)
    return got


async def test_another_users_job_is_not_found_exactly_like_an_unknown_one(
    held: Stack, held_http: httpx.AsyncClient, user: str
) -> None:
    mine = await submit(held_http)
    unknown = str(uuid.uuid4())
    async with open_ws(held.url, bearer(held, "intruder")) as ws:
        answers = {}
        for job_id in (mine, unknown, "not-a-job-id"):
            for op in ("subscribe", "cancel"):
                await send(ws, type=op, job_id=job_id)
                answers[op, job_id] = await recv(ws)
    for (op, job_id), answer in answers.items():
        assert answer == {"type": "error", "job_id": job_id, "code": "not_found",
                          "detail": "no such job"}, (op, job_id)
    r = await held_http.get(f"/api/multi-agent/jobs/{mine}/status")
    assert r.json()["status"] == "pending"  # the intruder's cancel did nothing
    await held_http.post(f"/api/multi-agent/jobs/{mine}/cancel")


# -- sign-in -----------------------------------------------------------------------


async def _closed_within(ws: object, seconds: float) -> tuple[int | None, float]:
    start = time.monotonic()
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), seconds + 30)  # type: ignore[attr-defined]
    return ws.close_code, time.monotonic() - start  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", ["not-a-token", "expired", "other-secret"])
async def test_a_bad_token_is_closed_4401_within_a_second(running: Stack, token: str) -> None:
    from jobgate.api.auth import mint_token

    value = {"expired": running.token("u", ttl=-10),
             "other-secret": mint_token("another-secret-0123456789-abcdef", "u")}.get(token, token)
    async with open_ws(running.url, {"Authorization": f"Bearer {value}"}) as ws:
        code, took = await _closed_within(ws, 1)
    assert code == 4401 and took < 1.0
    async with open_ws(running.url) as ws:  # the same token in a first message
        await send(ws, type="auth", token=value)
        code, took = await _closed_within(ws, 1)
    assert code == 4401 and took < 1.0


async def test_no_sign_in_is_closed_4401_after_the_auth_wait(running: Stack) -> None:
    """No header, no cookie, no auth message (JOBGATE_WS_AUTH_TIMEOUT_S=1 here)."""
    # a valid token in the URL changes nothing: tokens never go in URLs
    url = ws_url(running.url) + f"?token={running.token('u')}&access_token={running.token('u')}"
    async with connect(url, open_timeout=30) as ws:
        code, took = await _closed_within(ws, 2)
    assert code == 4401 and 0.9 <= took < 2.0
    async with open_ws(running.url) as ws:  # something else first
        await send(ws, type="subscribe", all=True)
        code, took = await _closed_within(ws, 1)
    assert code == 4401 and took < 1.0


async def test_an_auth_message_signs_in(running: Stack, http: httpx.AsyncClient,
                                        user: str) -> None:
    job_id = await submit(http)
    async with open_ws(running.url) as ws:
        await send(ws, type="auth", token=running.token(user))
        assert await recv(ws) == {"type": "ack", "op": "auth"}
        await send(ws, type="subscribe", job_id=job_id)
        messages = (await follow_to_end(ws, {job_id}))[job_id]
        await send(ws, type="auth", token=running.token(user))  # only once
        again = await recv(ws)
    assert messages[-1]["data"]["status"] == "completed"
    assert again["type"] == "error" and again["code"] == "invalid_request"


# -- manners -----------------------------------------------------------------------


async def test_bad_messages_get_errors_and_the_socket_stays(running: Stack, user: str) -> None:
    async with open_ws(running.url, bearer(running, user)) as ws:
        for bad in ("not json", '{"type": "shout"}', '{"type": "subscribe"}',
                    '{"type": "subscribe", "job_id": "x", "all": true}',
                    '{"type": "subscribe", "job_id": "x", "jobId": "y"}'):
            await ws.send(bad)
            answer = await recv(ws)
            assert answer["type"] == "error" and answer["code"] == "invalid_request", bad
            assert answer["detail"]
        await send(ws, type="subscribe", job_id=str(uuid.uuid4()), last_event_id="latest")
        answer = await recv(ws)
        assert answer["code"] == "invalid_request" and "last_event_id" in answer["detail"]
        await ws.send(b"\x00binary")
        assert (await recv(ws))["code"] == "invalid_request"
        await send(ws, type="unsubscribe", job_id="never-followed")
        assert await recv(ws) == {"type": "ack", "op": "unsubscribe", "job_id": "never-followed"}
        await ws.send('{"type": "subscribe", "all": true, "pad": "' + "x" * 20_000 + '"}')
        code, _ = await _closed_within(ws, 5)
    assert code == 1009


async def test_an_idle_socket_hears_heartbeats(running: Stack, user: str) -> None:
    async with open_ws(running.url, bearer(running, user)) as ws:
        beats = 0
        while beats < 2:  # JOBGATE_WS_HEARTBEAT_S=1 here
            message = await asyncio.wait_for(ws.recv(), 30)
            assert message == '{"type":"heartbeat"}'
            beats += 1


async def test_sockets_per_user_are_capped_4429(running: Stack, user: str) -> None:
    async def signed_in(sub: str) -> object:
        ws = await connect(ws_url(running.url), additional_headers=bearer(running, sub),
                           open_timeout=30)
        await send(ws, type="unsubscribe", job_id="x")  # answered: it is past sign-in
        await recv(ws)
        return ws

    three = [await signed_in(user) for _ in range(3)]  # JOBGATE_WS_MAX_SOCKETS_PER_USER=3
    try:
        async with open_ws(running.url, bearer(running, user)) as fourth:
            code, _ = await _closed_within(fourth, 5)
        assert code == 4429 and fourth.close_reason == "at most 3 sockets per user"
        other = await signed_in(f"{user}-other")  # another user is not affected
        await other.close()  # type: ignore[attr-defined]
        await three.pop().close()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while True:  # the server lets the slot go as it sees the close
            ws = await connect(ws_url(running.url), additional_headers=bearer(running, user))
            try:  # the server may close it (4429) before the probe goes out
                await send(ws, type="unsubscribe", job_id="x")
                assert (await recv(ws))["type"] == "ack"
                three.append(ws)
                break
            except ConnectionClosed:
                assert ws.close_code == 4429 and time.monotonic() < deadline
                await asyncio.sleep(0.05)
    finally:
        for ws in three:
            await ws.close()  # type: ignore[attr-defined]


@pytest.mark.timeout(360)  # 3 MB through a loaded 2-core machine; 3 s when idle
async def test_a_client_that_stops_reading_is_cut_off_and_another_is_not(
    held: Stack, held_http: httpx.AsyncClient, user: str, tmp_path: Path
) -> None:
    """Each step's event is 32 KiB of incompressible text: far more than the
    stalled client's small receive buffer and the server's 64 KiB bound hold."""
    steps = 96
    job_id = await submit(held_http)
    handler = Held(steps, payload=lambda i: {"i": i, "blob": uuid.uuid4().hex * 1024},
                   only=job_id)
    worker = run_held(held, tmp_path, handler)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: no autotuning
    raw.connect(("127.0.0.1", held.ports[0]))
    stalled = await connect(ws_url(held.url), sock=raw, additional_headers=bearer(held, user),
                            compression=None, max_queue=1, open_timeout=30)
    try:
        before = metric((await held_http.get("/metrics")).text, "jobgate_ws_closed_total",
                        code="4408")
        async with open_ws(held.url, bearer(held, user), compression=None) as reader:
            for ws in (stalled, reader):
                await send(ws, type="subscribe", job_id=job_id)
            got = [await recv(reader), await recv(reader)]  # the ack, then 0-1
            await handler.started.wait()
            handler.allow(steps + 1)  # every step, and the end
            got += await until(reader, ends, timeout=300)  # never held up by the other
            await until_metric(held_http, "jobgate_ws_closed_total", before + 1, code="4408")
        steps_seen = [m["data"]["i"] for m in got if m.get("event") == "step"]
        assert steps_seen == list(range(steps)) and got[-2]["type"] == "result"
        received = 0
        with pytest.raises(ConnectionClosed):  # what it had not read, then the end
            while True:
                await asyncio.wait_for(stalled.recv(), 30)
                received += 1
        assert received < steps
        assert stalled.close_code == 4408  # read on within the grace: it sees why
    finally:
        await stalled.close()
        await asyncio.wait_for(worker, 120)
