"""`watch(...)`: many jobs on one connection, against real server processes,
with `Client` and `AsyncClient` (the `flavour`). Each job's updates must be
its own event log exactly (same ids, once each, in order), with its result
just before its terminal event, whatever happened to the connection."""

from __future__ import annotations

import select
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jobgate
from jobgate.client import JobUpdate, _async, _sync
from tests.client.conftest import (
    SEQUENTIAL,
    Flavour,
    MakeStack,
    make_client,
    recording,
)
from tests.client.test_client_stack import PARALLEL, all_events
from tests.server import Stack

SLOW = {"JOBGATE_SIM_STEP_S": "0.4"}


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The WebSocket URLs each client opened (the drivers' one way to connect)."""
    opened: list[str] = []
    for driver in (_sync, _async):
        real: Callable[..., Any] = driver._connect  # type: ignore[attr-defined]

        def counting(action: Any, real: Callable[..., Any] = real) -> Any:
            opened.append(action.url)
            return real(action)

        monkeypatch.setattr(driver, "_connect", counting)
    return opened


def by_job(updates: list[JobUpdate]) -> dict[str, list[JobUpdate]]:
    out: dict[str, list[JobUpdate]] = {}
    for u in updates:
        out.setdefault(u.job_id, []).append(u)
    return out


def check_log(stack: Stack, job_id: str, updates: list[JobUpdate], sub: str = "alice") -> None:
    """The job's updates are its whole log once, the result just before its end."""
    events = [u.event for u in updates if u.event is not None]
    assert [e.id for e in events] == [e.id for e in all_events(stack, job_id, sub)]
    kinds = [u.kind for u in updates]
    assert kinds.count("result") == 1 and kinds[-2:] == ["result", "event"], kinds
    assert updates[-1].terminal and not any(u.terminal for u in updates[:-1])
    result = updates[-2].result
    assert result is not None and result.status is jobgate.JobState.COMPLETED


def test_ten_jobs_on_one_socket(stack: Stack, flavour: Flavour, connects: list[str]) -> None:
    transport = recording(flavour)
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        ids = [c.submit(PARALLEL).job_id for _ in range(10)]
        updates = list(c.watch(ids, timeout=120))
    assert connects == [stack.url.replace("http", "ws") + "/api/multi-agent/ws"]
    assert [r.url.path for r in transport.seen] == ["/api/multi-agent/submit"] * 10  # no polling
    jobs = by_job(updates)
    assert set(jobs) == set(ids)
    for job_id in ids:
        check_log(stack, job_id, jobs[job_id])


@pytest.mark.parametrize("transport", ["websocket", "sse"])
def test_all_follows_jobs_submitted_later(
    make_stack: MakeStack, flavour: Flavour, transport: str
) -> None:
    """No worker at first: job A waits, pending. Once A is on the socket (or the
    feed: the subscription is live) B is submitted, then a worker starts: both
    arrive, and another user's job does not."""
    stack = make_stack(workers=0)
    with make_client(flavour, stack.url, stack.token()) as c, \
            make_client(flavour, stack.url, stack.token("bob")) as bob:
        a = c.submit(PARALLEL).job_id
        bob.submit(PARALLEL)  # another user's: never on alice's socket
        b = ""
        updates: list[JobUpdate] = []
        for u in c.watch(all=True, timeout=120, transport=transport):
            updates.append(u)
            if not b:
                b = c.submit(PARALLEL).job_id
                stack.start_worker()
            ended = {x.job_id for x in updates if x.terminal}
            if ended == {a, b}:
                break
    jobs = by_job(updates)
    assert set(jobs) == {a, b}
    check_log(stack, a, jobs[a])
    check_log(stack, b, jobs[b])


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_resumes_after_the_api_restarts_mid_job(
    make_stack: MakeStack, flavour: Flavour, connects: list[str], how: str
) -> None:
    """Once two agents of any job have answered, the API is killed (no close
    frame) or stopped (close 1001) and started again on its port: every job's
    updates are still its log, once each."""
    stack = make_stack(**SLOW)
    restart = threading.Thread(target=stack.start_api, args=(stack.ports[0],))
    updates: list[JobUpdate] = []
    with make_client(flavour, stack.url, stack.token()) as c:
        ids = [c.submit(SEQUENTIAL).job_id for _ in range(3)]
        for u in c.watch(ids, timeout=120):
            updates.append(u)
            outputs = sum(x.event is not None and x.event.type == "agent_output" for x in updates)
            if restart.ident is None and outputs >= 2:
                getattr(stack.apis[0], how)()
                restart.start()
    restart.join(30)
    assert restart.ident is not None and len(connects) >= 2
    jobs = by_job(updates)
    for job_id in ids:
        check_log(stack, job_id, jobs[job_id])


def test_other_users_and_unknown_jobs_are_not_found(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, stack.token("alice")) as alice, \
            make_client(flavour, stack.url, stack.token("bob")) as bob:
        theirs = alice.submit(PARALLEL).job_id
        mine = bob.submit(PARALLEL).job_id
        unknown = str(uuid.uuid4())
        updates = list(bob.watch([theirs, unknown, mine], timeout=60))
    jobs = by_job(updates)
    for job_id in (theirs, unknown):
        [only] = jobs[job_id]
        assert isinstance(only.error, jobgate.NotFound) and only.error.code == "not_found"
        assert only.terminal and only.kind == "error"
    assert jobs[theirs][0].error.message == jobs[unknown][0].error.message  # type: ignore[union-attr]
    check_log(stack, mine, jobs[mine], sub="bob")


def test_a_bad_token_is_an_auth_error(stack: Stack, flavour: Flavour) -> None:
    with make_client(flavour, stack.url, "not-a-token") as c, pytest.raises(jobgate.AuthError):
        list(c.watch(all=True, timeout=30))


def test_the_sse_feed_when_asked(stack: Stack, flavour: Flavour, connects: list[str]) -> None:
    """Over the user feed: running jobs, one that ended before the watch began
    (read from its own log), and an unknown one."""
    with make_client(flavour, stack.url, stack.token()) as c:
        done = c.submit(PARALLEL).job_id
        c.wait(done)
        ids = [c.submit(PARALLEL).job_id for _ in range(3)]
        unknown = str(uuid.uuid4())
        updates = list(c.watch([done, *ids, unknown], timeout=120, transport="sse"))
    assert connects == []
    jobs = by_job(updates)
    for job_id in (done, *ids):
        check_log(stack, job_id, jobs[job_id])
    assert isinstance(jobs[unknown][0].error, jobgate.NotFound)


class NoUpgradeProxy:
    """A TCP proxy to the API that answers every WebSocket upgrade with 404, as
    a proxy without the upgrade configured would; all else passes through."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                head += chunk
            if b"upgrade: websocket" in head.lower():
                self.refused += 1
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n"
                             b"connection: close\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", self.upstream)) as up:
                up.sendall(head)
                splice(conn, up)

    def close(self) -> None:
        self.listener.close()


def splice(a: socket.socket, b: socket.socket) -> None:
    while True:
        ready, _, _ = select.select([a, b], [], [], 60)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


@pytest.fixture
def no_upgrade(stack: Stack) -> Iterator[NoUpgradeProxy]:
    proxy = NoUpgradeProxy(stack.ports[0])
    yield proxy
    proxy.close()


def test_a_refused_socket_falls_back_to_the_feed(
    stack: Stack, no_upgrade: NoUpgradeProxy, flavour: Flavour
) -> None:
    url = f"http://127.0.0.1:{no_upgrade.port}"
    with make_client(flavour, url, stack.token()) as c:
        ids = [c.submit(PARALLEL).job_id for _ in range(2)]
        updates = list(c.watch(ids, timeout=120))
        with pytest.raises(jobgate.APIError) as info:
            list(c.watch(ids, timeout=30, transport="websocket"))
    assert no_upgrade.refused == 2 and info.value.code == "ws_refused"
    jobs = by_job(updates)
    for job_id in ids:
        check_log(stack, job_id, jobs[job_id])


def test_the_feed_resumes_with_its_cursor(make_stack: MakeStack, flavour: Flavour) -> None:
    """The server ends each feed connection after 1 s; the client comes back
    with the cursor as Last-Event-ID and every job's log arrives once."""
    stack = make_stack(JOBGATE_SSE_MAX_CONNECTION_S="1", JOBGATE_SIM_STEP_S="0.3")
    transport = recording(flavour)
    with make_client(flavour, stack.url, stack.token(), transport=transport) as c:
        ids = [c.submit(SEQUENTIAL).job_id for _ in range(2)]
        updates = list(c.watch(ids, timeout=120, transport="sse"))
    feeds = [r for r in transport.seen if r.url.path == "/api/multi-agent/events"]
    assert len(feeds) >= 2
    cursors = [r.headers.get("last-event-id") for r in feeds]
    assert cursors[0] is None and all(cursors[1:])
    jobs = by_job(updates)
    for job_id in ids:
        check_log(stack, job_id, jobs[job_id])
