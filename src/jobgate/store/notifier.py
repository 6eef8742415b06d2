"""One Redis subscription per process (per server on a cluster), fanned out
to every local waiter.

Long-poll and SSE waiters register interest in a job id and sleep on an
asyncio.Event; no waiter holds a Redis connection of its own. If the
subscription drops, every waiter is woken so it re-reads what it missed.

Per-user feeds (WebSocket `subscribe all`, GET /events) register an
`OwnerWatch`: enqueue's notice `<id> n <owner>` wakes that owner's watchers,
which then read the owner's new jobs from Valkey.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator

from jobgate.store.subscriber import Subscriber

log = logging.getLogger(__name__)


class Watch:
    """A local waiter's handle on one job's changes.

    `status_only` watchers (long-poll) sleep through events that leave the
    status as it was, such as streamed tokens, instead of re-reading the job.
    """

    __slots__ = ("_event", "job_id", "status_only")

    def __init__(self, job_id: str, status_only: bool = False) -> None:
        self.job_id = job_id
        self.status_only = status_only
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when the job changed (or may have), False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class OwnerWatch(Watch):
    """A per-user feed's handle on one owner's new jobs: woken when the owner
    submits one (through any API process), or when notices may have been
    missed; the feed then reads the owner's jobs created since it last looked."""

    __slots__ = ()

    def __init__(self, owner: str) -> None:
        super().__init__(owner)

    @property
    def owner(self) -> str:
        return self.job_id


class Notifier:
    def __init__(self, make_subscriber: Callable[[Callable[[int, str], None],
                                                  Callable[[], None]], Subscriber]) -> None:
        """`make_subscriber(on_message, on_reset)`: the subscription to every
        partition's notify channel."""
        self._watches: dict[str, set[Watch]] = defaultdict(set)
        self._owners: dict[str, set[OwnerWatch]] = defaultdict(set)
        self._sub = make_subscriber(self._dispatch, self._wake_all)
        self.connected = self._sub.connected
        self.closing = False

    @property
    def waiters(self) -> int:
        return sum(len(s) for s in self._watches.values())

    @property
    def owner_watchers(self) -> int:
        return sum(len(s) for s in self._owners.values())

    def start(self) -> None:
        self._sub.start()

    async def stop(self) -> None:
        await self._sub.stop()

    def close_waits(self) -> None:
        """The process is stopping: every waiter wakes and, seeing `closing`,
        answers now, so its client moves on to another process instead of
        being cut off at the end of the shutdown grace."""
        self.closing = True
        self._wake_all()

    @contextlib.contextmanager
    def watch(self, job_id: str, *, status_only: bool = False) -> Iterator[Watch]:
        w = Watch(job_id, status_only)
        self._watches[job_id].add(w)
        try:
            yield w
        finally:
            watches = self._watches.get(job_id)
            if watches is not None:
                watches.discard(w)
                if not watches:
                    del self._watches[job_id]

    @contextlib.contextmanager
    def watch_owner(self, owner: str) -> Iterator[OwnerWatch]:
        w = OwnerWatch(owner)
        self._owners[owner].add(w)
        try:
            yield w
        finally:
            watches = self._owners.get(owner)
            if watches is not None:
                watches.discard(w)
                if not watches:
                    del self._owners[owner]

    def _dispatch(self, partition: int, message: str) -> None:
        job_id, _, kind = message.partition(" ")
        if kind.startswith("n "):  # a new job: '<id> n <owner>' (the owner may hold spaces)
            for ow in self._owners.get(kind[2:], ()):
                ow.fire()
            return
        status_changed = kind != "e"
        for w in self._watches.get(job_id, ()):
            if status_changed or not w.status_only:
                w.fire()

    def _wake_all(self) -> None:
        for watches in self._watches.values():
            for w in watches:
                w.fire()
        for owners in self._owners.values():
            for ow in owners:
                ow.fire()
