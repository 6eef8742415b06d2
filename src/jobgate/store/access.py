"""The store's one way to Redis, the same on a single node, Sentinel and Cluster.

Every call names the hash slot its keys live in; `Nodes` says which server
holds that slot and gives its lane (lane.py: one connection per server,
group commit). A single node (standalone, or Sentinel's current primary)
holds every slot. On a cluster a call that reaches a node no longer holding
its slot is answered MOVED without running, so it is sent again after the
slot map is read afresh.

Durable writes (a submit, an attempt's end) are followed on the same
connection by `WAIT`: when the slot's primary has replicas, the write is
acknowledged only once `min_replicas_ack` of them have it, or the caller
hears `StoreUnavailable` (a 503), never a false "done".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import AskError, ClusterDownError, NoScriptError, ReadOnlyError, TryAgainError

from jobgate.errors import StoreUnavailable
from jobgate.store.lane import Arg, Lane, bulk
from jobgate.store.scripts import Script

log = logging.getLogger(__name__)

_BUSY = (ClusterDownError, TryAgainError, ReadOnlyError)
Item = tuple[int, bytes, int] | tuple[int, bytes, int, int]  # slot, commands, replies[, ack]


def _ack(item: Item) -> int:
    return item[3] if len(item) == 4 else 0
_REFRESH_EVERY_S = 5.0  # how stale the map of slots and replicas may grow
_REDIRECTS = 5


class Nodes(Protocol):
    """Which server holds a slot, and how many replicas it has."""

    version: int  # grows when the map changes

    def lane(self, slot: int, claims: bool = False) -> Lane: ...

    def home(self, slot: int) -> Lane: ...

    def clients_for(self, slots: list[int]) -> list[tuple[Redis, list[int]]]: ...

    def replicas(self, slot: int) -> int: ...

    async def refresh(self) -> None: ...

    def lanes(self) -> list[Lane]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Call:
    """One script call: the slot its keys share, the script, keys and arguments."""

    slot: int
    script: Script
    keys: Sequence[str]
    args: Sequence[Arg]


class Access:
    def __init__(self, nodes: Nodes, *, min_replicas_ack: int | None, wait_ms: int) -> None:
        self.nodes = nodes
        self._min_ack = min_replicas_ack
        self._wait_ms = wait_ms
        self._refreshed = time.monotonic()
        self._refreshing: asyncio.Task[None] | None = None
        self._heads: dict[tuple[str, int], bytes] = {}
        self._lane0 = nodes.lanes()[0]

    def pack(self, *args: Arg) -> bytes:
        return self._lane0.pack(*args)

    def ack_needed(self, slot: int) -> int:
        """Replicas a durable write waits for: the setting, else 1 when there are any."""
        if self._min_ack is not None:
            return self._min_ack
        return 1 if self.nodes.replicas(slot) > 0 else 0

    # -- plain commands ----------------------------------------------------
    async def send(
        self, slot: int, commands: bytes, replies: int, *, idempotent: bool = True
    ) -> list[Any]:
        """The replies to packed `commands` on the server holding `slot`; an
        error reply stays in its place (a redirect is followed first)."""
        (results,) = await self.send_many([(slot, commands, replies)], idempotent=idempotent)
        return results

    async def send_many(
        self, batch: Sequence[Item], *, idempotent: bool = True
    ) -> list[list[Any]]:
        """Several groups of commands, each to its slot's server: one round trip
        per server, all servers at once. An item `(slot, commands, replies,
        ack)` with ack > 0 gets WAIT's reply (the replicas that have its
        writes) after its own: one WAIT per round trip serves them all."""
        self._maybe_refresh()
        out: list[list[Any] | None] = [None] * len(batch)
        todo = list(range(len(batch)))
        for _ in range(_REDIRECTS):
            by_lane: dict[int, tuple[Lane, list[int]]] = {}
            for i in todo:
                lane = self.nodes.lane(batch[i][0])
                by_lane.setdefault(id(lane), (lane, []))[1].append(i)
            if len(by_lane) == 1:  # one server: no task to run it beside the others
                ((lane, idx),) = by_lane.values()
                sent = [await self._send_group(lane, idx, batch, idempotent)]
            else:
                sent = await asyncio.gather(*(
                    self._send_group(lane, idx, batch, idempotent)
                    for lane, idx in by_lane.values()
                ))
            todo = []
            for (_, idx), replies in zip(by_lane.values(), sent, strict=True):
                for i, r in zip(idx, replies, strict=True):
                    if any(isinstance(x, AskError) for x in r):  # MOVED or ASK: it did not run
                        todo.append(i)
                    else:
                        out[i] = r
            if not todo:
                return [r for r in out if r is not None]
            await self._refresh_now()
        raise StoreUnavailable("the cluster keeps moving the job's slot; retry shortly")

    async def _send_group(
        self, lane: Lane, idx: list[int], batch: Sequence[Item], idempotent: bool
    ) -> list[list[Any]]:
        acks = [_ack(batch[i]) for i in idx]
        wait = (max(acks), self._wait_ms) if any(acks) else None
        try:
            flat = await lane.send(
                b"".join(batch[i][1] for i in idx), sum(batch[i][2] for i in idx), idempotent,
                wait,
            )
        except Exception:
            self._refresh_soon()  # a server gone away: its slots may have a new primary
            raise
        split, at = [], 0
        for i, ack in zip(idx, acks, strict=True):
            n = batch[i][2]
            split.append(flat[at : at + n] + (flat[-1:] if ack else []))
            at += n
        for r in split:
            for x in r:
                if isinstance(x, _BUSY):
                    self._refresh_soon()
                    raise StoreUnavailable(f"job store busy or failing over: {x}")
        return split

    # -- scripts -----------------------------------------------------------
    async def run(
        self, call: Call, *, idempotent: bool = True, durable: bool = False, claims: bool = False
    ) -> Any:
        """One script call's reply; its error raised. `claims`: on the server's
        claim lane (nodes.py)."""
        ack = self.ack_needed(call.slot) if durable else 0
        item = (call.slot, self._pack_call(call), 1, ack)
        # One call, one server: straight to its lane (a submit's path); a redirect
        # (MOVED, ASK) or a server that forgot the script goes the general way.
        self._maybe_refresh()
        lane = self.nodes.lane(call.slot, claims)
        (reply,) = await self._send_group(lane, [0], (item,), idempotent)
        if isinstance(reply[0], AskError):
            (reply,) = await self.send_many([item], idempotent=idempotent)
        if isinstance(reply[0], NoScriptError):  # see run_many
            await self._load({(call.slot, call.script.name): call})
            (reply,) = await self.send_many([item], idempotent=idempotent)
        result = self._acknowledged(item, reply)
        if isinstance(result, Exception):
            raise result
        return result

    async def run_many(
        self, calls: Sequence[Call], *, idempotent: bool = True, durable: bool = False
    ) -> list[Any]:
        """Each call's reply, or its error in its place. `durable`: each waits
        for the replicas it needs (`ack_needed`) before it counts as done."""
        batch: list[Item] = []
        for c in calls:
            batch.append((c.slot, self._pack_call(c), 1, self.ack_needed(c.slot) if durable else 0))
        replies = await self.send_many(batch, idempotent=idempotent)
        missing = [i for i, r in enumerate(replies) if isinstance(r[0], NoScriptError)]
        if missing:  # a restarted or promoted server forgot them; they did not run
            await self._load({(calls[i].slot, calls[i].script.name): calls[i] for i in missing})
            again = await self.send_many([batch[i] for i in missing], idempotent=idempotent)
            for i, r in zip(missing, again, strict=True):
                replies[i] = r
        return [self._acknowledged(item, r) for item, r in zip(batch, replies, strict=True)]

    def _acknowledged(self, item: Item, reply: list[Any]) -> Any:
        """The script's reply, once as many replicas as the item asked for have it."""
        ack = _ack(item)
        if ack and not isinstance(reply[0], Exception) and int(reply[1]) < ack:
            self._refresh_soon()
            raise StoreUnavailable(
                f"no replica confirmed the write within {self._wait_ms} ms; retry shortly"
            )
        return reply[0]

    async def _load(self, calls: dict[tuple[int, str], Call]) -> None:
        await self.send_many(
            [(c.slot, self.pack("SCRIPT", "LOAD", c.script.source), 1) for c in calls.values()]
        )

    def _pack_call(self, c: Call) -> bytes:
        total = 3 + len(c.keys) + len(c.args)
        head = self._heads.get((c.script.sha, total))
        if head is None:
            head = b"*%d\r\n" % total + bulk([b"EVALSHA", c.script.sha.encode()])
            self._heads[(c.script.sha, total)] = head
        return head + self._lane0.bulk([len(c.keys), *c.keys, *c.args])

    # -- the map of slots --------------------------------------------------
    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._refreshed > _REFRESH_EVERY_S:
            self._refresh_soon()

    def _refresh_soon(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshed = time.monotonic()
            self._refreshing = asyncio.create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.nodes.refresh()
        except Exception as exc:  # the next call tries again; it reports what it finds
            log.info("could not refresh the map of Redis nodes: %s", exc)

    async def _refresh_now(self) -> None:
        self._refreshed = time.monotonic()
        await self.nodes.refresh()

    async def aclose(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(BaseException):
                await self._refreshing
        await self.nodes.aclose()
