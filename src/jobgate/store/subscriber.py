"""Sharded pub/sub: one channel per partition, each heard on the server that
holds its slot, so no server relays every job's news to every other.

One connection per server (on a single node, one in all). When a
connection drops or the map of slots changes (a failover), everything is
subscribed afresh and `on_reset` tells the owner that messages may have
been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from redis.asyncio import Redis

from jobgate.store.connection import TRANSIENT

log = logging.getLogger(__name__)


class _Nodes(Protocol):
    version: int

    def clients_for(self, slots: list[int]) -> list[tuple[Redis, list[int]]]: ...

    async def refresh(self) -> None: ...


class _SlotMoved(Exception):
    """The server stopped serving one of our channels' slots."""


class Subscriber:
    def __init__(
        self,
        nodes: _Nodes,
        channels: Sequence[str],
        slots: Sequence[int],
        on_message: Callable[[int, str], None],
        on_reset: Callable[[], None],
        name: str,
    ) -> None:
        """`channels[p]` is partition p's channel, in slot `slots[p]`;
        `on_message(p, data)` hears each message."""
        self._nodes = nodes
        self._channels = list(channels)
        self._slots = list(slots)
        self._partition = {c: p for p, c in enumerate(channels)}
        self._on_message = on_message
        self._on_reset = on_reset
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._subscribed = 0
        self._readers = 0
        self._round = 0  # readers of an older round stop (a cancel can be lost in redis-py)
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._round += 1
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                await self._serve()
            except (*TRANSIENT, _SlotMoved) as exc:
                log.warning("%s lost its subscription: %s; retrying", self._name, exc)
            was_up = self.connected.is_set()
            self.connected.clear()
            with contextlib.suppress(Exception):
                await self._nodes.refresh()
            delay = 0.05 if was_up else min(delay * 2, 1.0)
            await asyncio.sleep(delay)

    async def _serve(self) -> None:
        """Subscribe on every server at once; return when the map of slots changes."""
        by_slot: dict[int, list[int]] = {}
        for p, s in enumerate(self._slots):
            by_slot.setdefault(s, []).append(p)
        groups = self._nodes.clients_for(sorted(by_slot))
        version = self._nodes.version
        self._round += 1
        self._subscribed, self._readers = 0, len(groups)
        tasks = [
            asyncio.create_task(self._read(c, [p for s in slots for p in by_slot[s]]))
            for c, slots in groups
        ]
        tasks.append(asyncio.create_task(self._watch(version)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()  # raises what ended it
        finally:
            self._round += 1
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, version: int) -> None:
        """Returns once the map of slots has changed (checked each second)."""
        changed, round_ = asyncio.Event(), self._round
        while not changed.is_set() and round_ == self._round:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0)
            if self._nodes.version != version:
                changed.set()

    async def _read(self, client: Redis, partitions: list[int]) -> None:
        pubsub = client.pubsub()
        round_ = self._round
        try:
            for p in partitions:
                await pubsub.ssubscribe(self._channels[p])
            self._subscribed += 1
            if self._subscribed == self._readers:
                self.connected.set()
                self._on_reset()  # anything may have happened while we were away
            while round_ == self._round:
                msg = await pubsub.get_message(timeout=1.0)
                if msg is None:
                    continue
                if msg["type"] == "smessage":
                    at = self._partition.get(msg["channel"])
                    if at is not None:
                        self._on_message(at, msg["data"])
                elif msg["type"] == "sunsubscribe":
                    raise _SlotMoved(str(msg["channel"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
