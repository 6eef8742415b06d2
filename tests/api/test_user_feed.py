"""The SSE user feed `GET /api/multi-agent/events` against real API processes:
every job of the caller on one stream, resumed with one `Last-Event-ID`
(the feed cursor) after a gap, a restart or the connection cap, with every
event exactly once.

Jobs are held by a handler the test runs (no worker in the stack), so each
gap lands where the test puts it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey
from tests.api.feeds import Held, P, bearer, log_ids, run_held, submit
from tests.server import Stack


@dataclass
class Message:
    id: str | None
    data: dict[str, Any]


class Feed:
    """One /events connection, read message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None

    async def next(self, timeout: float = 30) -> Message | None:
        """The next message, or None when the server ended the stream."""
        eid, data = None, []
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if line == "":
                    if data:
                        if eid is not None:
                            self.last_id = eid
                        return Message(eid, json.loads("\n".join(data)))
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "id":
                    eid = value
                elif field == "data":
                    data.append(value)
        return None

    async def until(self, pred: Any, timeout: float = 30) -> list[Message]:
        got = []
        while True:
            m = await self.next(timeout)
            assert m is not None, "the stream ended first"
            got.append(m)
            if pred(m.data):
                return got


@pytest.fixture
def stack(valkey: EmbeddedValkey, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(valkey.url, f"feed-{uuid.uuid4().hex[:10]}", tmp_path / "stack",
              extra_env={"JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "20",
                         "JOBGATE_SSE_HEARTBEAT_S": "1"})
    s.start_api()
    yield s
    s.stop()


def _feed(c: httpx.AsyncClient, last: str | None = None, base: str | None = None) -> Any:
    headers = {"Last-Event-ID": last} if last else {}
    return c.stream("GET", f"{base or ''}{P}/events", headers=headers)


def _ends(job_id: str) -> Any:
    return lambda d: (d.get("job_id") == job_id and d.get("event") == "state"
                      and d["data"]["status"] in ("completed", "failed", "cancelled"))


def _step(job_id: str, n: int) -> Any:
    return lambda d: d.get("job_id") == job_id and d.get("event") == "step" and \
        d["data"]["step"] == n


def _ids(messages: list[Message], job_id: str) -> list[str]:
    return [m.data["id"] for m in messages
            if m.data["type"] == "event" and m.data["job_id"] == job_id]


async def test_the_feed_follows_every_job_of_the_caller_only(stack: Stack, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=stack.url, headers=bearer(stack, "bea"),
                                 timeout=60) as c:
        before = await submit(c, "active before the feed opens")
        handler = Held(1, only=before)
        async with _feed(c) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            feed = Feed(r)
            opening = await feed.next()
            assert opening is not None and opening.id is not None
            assert opening.data == {"type": "ack", "op": "subscribe", "all": True}
            first = await feed.until(lambda d: d.get("job_id") == before)
            async with httpx.AsyncClient(base_url=stack.url, headers=bearer(stack, "other"),
                                         timeout=60) as stranger:
                theirs = await submit(stranger, "not bea's")
            later = await submit(c, "submitted after the feed opened")
            worker = run_held(stack, tmp_path / "worker", handler)
            await handler.started.wait()
            handler.allow(2)
            got = list(first)
            while not all(any(_ends(j)(m.data) for m in got) for j in (before, later)):
                got += await feed.until(lambda d: True, timeout=60)  # `later` ran at once
            await asyncio.wait_for(worker, 60)
        assert all(m.data.get("job_id") != theirs for m in got)
        for job_id in (before, later):
            assert _ids(got, job_id) == await log_ids(c, job_id)
            mine = [m for m in got if m.data.get("job_id") == job_id]
            assert mine[-2].data["type"] == "result" and mine[-2].id is None
            assert mine[-1].id is not None  # every event carries the cursor
        await c.post(f"{P}/jobs/{theirs}/cancel", headers=bearer(stack, "other"))


async def test_resume_after_a_gap_gets_what_happened_meanwhile_exactly_once(
    stack: Stack, tmp_path: Path
) -> None:
    """While no stream is open, the held job moves on and another job is
    submitted and runs to its end: the next stream brings exactly those."""
    async with httpx.AsyncClient(base_url=stack.url, headers=bearer(stack, "cy"),
                                 timeout=60) as c:
        held = await submit(c, "held")
        handler = Held(4, only=held)
        worker = run_held(stack, tmp_path / "worker", handler)
        await handler.started.wait()
        async with _feed(c) as r:
            feed = Feed(r)
            handler.allow(2)
            seen = await feed.until(_step(held, 1))
        cursor = feed.last_id
        assert cursor is not None
        handler.allow(1)
        await handler.until_emitted(3)
        quick = await submit(c, "from start to end in the gap")
        for _ in range(600):  # it runs at once (the handler holds only the other)
            if (await c.get(f"{P}/jobs/{quick}/status")).json()["status"] == "completed":
                break
            await asyncio.sleep(0.05)
        async with _feed(c, cursor) as r:
            feed = Feed(r)
            rest = await feed.until(_ends(quick), timeout=60)
            handler.allow(2)
            rest += await feed.until(_ends(held), timeout=60)
        await asyncio.wait_for(worker, 60)
        assert _ids(seen + rest, held) == await log_ids(c, held)
        assert _ids(rest, quick) == await log_ids(c, quick)
        assert [m.data["data"]["step"] for m in seen + rest if m.data.get("event") == "step"] \
            == [0, 1, 2, 3]


async def test_resume_on_another_process_after_a_restart_or_the_connection_cap(
    valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    s = Stack(valkey.url, f"feedr-{uuid.uuid4().hex[:10]}", tmp_path / "stack",
              extra_env={"JOBGATE_SSE_MAX_CONNECTION_S": "2"})
    first = s.start_api()
    s.start_api()
    elsewhere = f"http://127.0.0.1:{s.ports[1]}"
    try:
        async with httpx.AsyncClient(base_url=elsewhere, headers=bearer(s, "dee"),
                                     timeout=60) as c:
            job_id = await submit(c)
            handler = Held(4, only=job_id)
            worker = run_held(s, tmp_path / "worker", handler)
            async with _feed(c, base=s.url) as r:
                feed = Feed(r)
                handler.allow(1)
                seen = await feed.until(_step(job_id, 0))
                first.signal(signal.SIGTERM)
                assert await feed.next() is None  # ended by the server, not cut
            handler.allow(1)
            await handler.until_emitted(2)
            messages = list(seen)
            cursor = feed.last_id
            while not any(_ends(job_id)(m.data) for m in messages):
                # each stream lasts JOBGATE_SSE_MAX_CONNECTION_S (2 s); resumed each time
                async with _feed(c, cursor) as r:
                    feed = Feed(r)
                    handler.allow(1)
                    while (m := await feed.next(30)) is not None:
                        messages.append(m)
                    cursor = feed.last_id or cursor
            await asyncio.wait_for(worker, 60)
            assert _ids(messages, job_id) == await log_ids(c, job_id)
    finally:
        s.stop()


async def test_a_cursor_the_server_did_not_make_is_422_and_the_query_form_works(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url, headers=bearer(stack, "eve"),
                                 timeout=60) as c:
        r = await c.get(f"{P}/events", headers={"Last-Event-ID": "1-0"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"
        assert "cursor" in r.json()["detail"]
        async with _feed(c) as r:
            cursor = (await Feed(r).next())
        assert cursor is not None and cursor.id is not None
        async with c.stream("GET", f"{P}/events", params={"last_event_id": cursor.id}) as r:
            assert r.status_code == 200
            opening = await Feed(r).next()
        assert opening is not None and opening.data["op"] == "subscribe"
        r = await c.get(f"{P}/events", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
