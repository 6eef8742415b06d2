"""Many jobs of one user on one connection: the core the WebSocket (`/ws`)
and the SSE user feed (`/events`) share.

A `Feed` follows jobs for one owner, a task per job reading its event log
exactly as the job's own SSE stream does (api/stream.py), and writes the
messages into the connection's `Outbox`. Waking costs no Redis connection:
each task sleeps on the process's notifier, and the all-subscription on an
`OwnerWatch` that enqueue's new-job notice wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from jobgate.api import feed_messages as msg
from jobgate.api.feed_messages import Out
from jobgate.api.stream import is_terminal, next_events, result_body
from jobgate.errors import JobNotFound
from jobgate.services import Services
from jobgate.store.connection import TRANSIENT
from jobgate.store.notifier import OwnerWatch

_BATCH = 500  # the store's page of events: a full one means more are waiting
_RECHECK_S = 60.0  # a follower re-reads this often even if never woken (a safety net)
_RETRY_S = 1.0  # after Valkey failed a read

OnFollow = Callable[[str, str | None], None]


class Outbox:
    """Messages waiting for one connection, bounded in bytes.

    A producer past the bound waits for room: a slow client is paced (the
    events wait in Valkey, not here), never buffered without end. `close`
    ends the connection ahead of anything queued (the client resumes).
    """

    def __init__(self, limit_bytes: int) -> None:
        self._items: deque[Out] = deque()
        self._bytes = 0
        self._limit = limit_bytes
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.close_code: int | None = None

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    async def put(self, out: Out) -> None:
        while self._bytes >= self._limit and self.close_code is None:
            self._room.clear()
            await self._room.wait()
        if self.close_code is not None:
            return  # closing: the client resumes from what it has
        self._items.append(out)
        self._bytes += out.size
        self._ready.set()

    async def get(self, timeout: float) -> Out | None:
        """The next message; None after `timeout` with nothing to send, or once closed."""
        if not self._items and self.close_code is None:
            self._ready.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            except TimeoutError:
                return None
        if self.close_code is not None or not self._items:
            return None
        out = self._items.popleft()
        self._bytes -= out.size
        if self._bytes < self._limit:
            self._room.set()
        return out

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self._ready.set()
        self._room.set()


class Feed:
    """The jobs one connection follows for one owner.

    `on_follow(job_id, after)` is told of every job as its follow starts,
    before any of its messages (the SSE feed keeps its cursor with it).
    """

    def __init__(
        self, svc: Services, owner: str, outbox: Outbox, *, cap: int,
        on_follow: OnFollow | None = None,
    ) -> None:
        self._svc = svc
        self._owner = owner
        self._outbox = outbox
        self._cap = cap
        self._on_follow = on_follow
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._all: asyncio.Task[None] | None = None
        self._owner_watch: contextlib.ExitStack | None = None
        # With the all-subscription: every job created up to the watermark has
        # been followed (or was over); `_known` holds the jobs followed that
        # were created after it, so a listing of new jobs skips them.
        self.watermark_us = 0
        self._known: dict[str, int] = {}

    @property
    def following(self) -> int:
        return len(self._tasks)

    async def subscribe(self, job_id: str, after: str | None) -> None:
        """Follow one job (a WebSocket `subscribe`): acked, then its events."""
        if job_id in self._tasks:
            await self._outbox.put(msg.ack("subscribe", job_id=job_id))
            return
        if len(self._tasks) >= self._cap:
            await self._outbox.put(self._too_many(job_id))
            return
        try:
            job, _ = await self._svc.store.get_owned(job_id, self._owner)
        except JobNotFound:
            await self._outbox.put(msg.error(job_id, "not_found", "no such job"))
            return
        await self._outbox.put(msg.ack("subscribe", job_id=job_id))
        if job_id not in self._tasks:  # the all-subscription may have found it meanwhile
            self._follow(job_id, after, job.created_us)

    async def resume(self, positions: dict[str, str | None]) -> None:
        """Follow the jobs of a feed cursor from where it left them (SSE feed)."""
        for job_id, after in positions.items():
            try:
                job, _ = await self._svc.store.get_owned(job_id, self._owner)
            except JobNotFound:
                await self._outbox.put(msg.ended(job_id))  # gone (expired): out of the cursor
                continue
            if len(self._tasks) < self._cap:
                self._follow(job_id, after, job.created_us)

    async def subscribe_all(self, since_us: int | None = None, *, acknowledge: bool) -> None:
        """Every job of the owner: those active now (or, with `since_us`, every
        one created after it) and every one submitted from now on."""
        if self._all is not None:
            if acknowledge:
                await self._outbox.put(msg.ack("subscribe", all=True))
            return
        stack = contextlib.ExitStack()
        watch = stack.enter_context(self._svc.notifier.watch_owner(self._owner))
        try:  # watching before reading: a job submitted meanwhile is found one way or both
            if since_us is None:
                ids, now = await self._svc.store.active_now(self._owner)
                new = [(job_id, 0) for job_id in ids]
            else:
                self.watermark_us = now = since_us
                new = await self._list_new()
                now = new[-1][1] if new else now
        except BaseException:
            stack.close()
            raise
        self._owner_watch = stack
        if acknowledge:
            await self._outbox.put(msg.ack("subscribe", all=True))
        self._all = asyncio.create_task(self._watch_new(watch), name="feed-all")
        await self._follow_new(new, now)

    async def unsubscribe(self, job_id: str | None) -> None:
        """Stop following one job, or (None) everything and the all-subscription."""
        if job_id is not None:
            task = self._tasks.pop(job_id, None)
            if task is not None:
                task.cancel()
            await self._outbox.put(msg.ack("unsubscribe", job_id=job_id))
            return
        await self.aclose()
        await self._outbox.put(msg.ack("unsubscribe", all=True))

    async def aclose(self) -> None:
        tasks = [*self._tasks.values(), *([self._all] if self._all else [])]
        self._tasks.clear()
        self._all = None
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owner_watch is not None:
            self._owner_watch.close()
            self._owner_watch = None
        self._known.clear()

    # -- the all-subscription ---------------------------------------------
    async def _watch_new(self, watch: OwnerWatch) -> None:
        notifier = self._svc.notifier
        while not notifier.closing:
            await watch.wait(_RECHECK_S)
            if notifier.closing:
                return
            try:
                new = await self._list_new()
            except TRANSIENT:
                await asyncio.sleep(_RETRY_S)
                watch.fire()  # look again
                continue
            if new:
                await self._follow_new(new, new[-1][1])

    async def _list_new(self) -> list[tuple[str, int]]:
        """The owner's jobs created after the watermark, oldest first."""
        found: list[tuple[str, int]] = []
        after = self.watermark_us
        while True:
            rows = await self._svc.store.created_after(self._owner, after, _BATCH)
            found += rows
            if len(rows) < _BATCH:
                return found
            after = rows[-1][1]

    async def _follow_new(self, jobs: list[tuple[str, int]], watermark_us: int) -> None:
        """Follow the jobs not followed yet, then move the watermark past them.

        No await until the watermark has moved: the SSE feed's cursor, read
        between two messages, never has a watermark past a job it lacks."""
        over = []
        for job_id, created in jobs:
            if job_id in self._tasks or job_id in self._known:
                continue
            if len(self._tasks) >= self._cap:
                over.append(job_id)
                continue
            self._follow(job_id, None, created)
        self.watermark_us = max(self.watermark_us, watermark_us)
        self._known = {j: c for j, c in self._known.items() if c > self.watermark_us}
        for job_id in over:
            await self._outbox.put(self._too_many(job_id))

    def _too_many(self, job_id: str) -> Out:
        return msg.error(job_id, "too_many_subscriptions",
                         f"this connection follows {self._cap} jobs already")

    # -- one job ------------------------------------------------------------
    def _follow(self, job_id: str, after: str | None, created_us: int) -> None:
        if created_us > self.watermark_us:
            self._known[job_id] = created_us
        if self._on_follow is not None:
            self._on_follow(job_id, after)
        self._tasks[job_id] = asyncio.create_task(self._run(job_id, after), name="feed-job")

    async def _run(self, job_id: str, last: str | None) -> None:
        """The job's events after `last`, then as they land; the result just
        before the terminal event, then the follow ends."""
        svc, put = self._svc, self._outbox.put
        try:
            with svc.notifier.watch(job_id) as w:
                while not svc.notifier.closing:
                    try:
                        batch = await next_events(svc, job_id, self._owner, last)
                    except TRANSIENT:
                        await asyncio.sleep(_RETRY_S)
                        continue
                    if batch is None:
                        await put(msg.ended(job_id))
                        return
                    for eid, etype, data in batch:
                        last = eid
                        terminal = is_terminal(etype, data)
                        if terminal and (body := await result_body(svc, job_id)) is not None:
                            await put(msg.result(job_id, body))
                        await put(msg.event(job_id, eid, etype, data, terminal=terminal))
                        if terminal:
                            return
                    if len(batch) < _BATCH:
                        await w.wait(_RECHECK_S)
        finally:
            if self._tasks.get(job_id) is asyncio.current_task():
                del self._tasks[job_id]
