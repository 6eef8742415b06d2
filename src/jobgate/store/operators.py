"""The store's side of the operators' API: the worker registry and reads across all users.

A mixin of `JobStore` (one store object; this file keeps jobs.py small).
Every read is a bounded range of a few keys plus the hashes it names: no
KEYS or SCAN. Jobs live in P partitions, so a page across all of them is
read from each (at most offset + limit + 1 entries each) and merged here.
Which ids make a page, and what a job looks like to an operator, are
decided in api/admin.py; here are only the round trips.
"""

from __future__ import annotations

import heapq
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.crc import key_slot

from jobgate import serde
from jobgate.job import PRIORITY_ORDER, Priority
from jobgate.settings import Settings
from jobgate.store.access import Access, Call
from jobgate.store.keys import WORKER_TTL_S, Keys, retry_idempotency
from jobgate.store.lane import Arg
from jobgate.store.replies import as_dict, clock_us, ok
from jobgate.store.scripts import Scripts

MAX_WORKERS = 1000  # listed at most; a fleet larger than this is not a console's job
MAX_LISTED_JOBS = 100  # job ids a worker's registration names
FORGOTTEN_MS = 3_600_000  # a set entry this old is dropped by any beat (its card long gone)


def _scored(flat: list[Any]) -> list[tuple[str, int]]:
    """A WITHSCORES reply (RESP2: member, score, ...) as (member, score) pairs."""
    if flat and isinstance(flat[0], list | tuple):
        return [(m, int(float(s))) for m, s in flat]
    return [(flat[i], int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


@dataclass(frozen=True, slots=True)
class WorkerCard:
    """What a worker says of itself on every heartbeat."""

    id: str
    concurrency: int
    running: Sequence[str]
    started: float  # wall clock, s
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    depths: dict[Priority, int]
    delayed: int
    running: int
    orphaned: int
    failed: int
    now_us: int


@dataclass(frozen=True, slots=True)
class IdPage:
    """Job ids in page order, each with its score (due time, lease expiry, end time)."""

    ids: list[tuple[str, int | None]]
    more: bool
    now_us: int


class OperatorReads:
    access: Access
    keys: Keys
    settings: Settings
    scripts: Scripts

    def _slots(self) -> list[int]:
        return [self.keys.slot(p) for p in range(self.keys.partitions)]

    async def _each(self, *commands: tuple[Any, ...]) -> list[list[Any]]:
        """The same commands in every partition; `{leases}`-style names stand for
        that partition's key (see `_key`)."""
        a = self.access
        batch = []
        for p in range(self.keys.partitions):
            packed = b"".join(a.pack(*(self._key(p, x) for x in cmd)) for cmd in commands)
            batch.append((self.keys.slot(p), packed, len(commands)))
        return [ok(r) for r in await a.send_many(batch)]

    def _key(self, p: int, x: Any) -> Any:
        k = self.keys
        names = {"{leases}": k.leases, "{delayed}": k.delayed, "{dead}": k.dead}
        if isinstance(x, str) and x in names:
            return names[x](p)
        if isinstance(x, str) and x.startswith("{q:"):
            return k.queue(p, Priority(x[3:-1]))
        return x

    # -- the worker registry ------------------------------------------------
    async def register_worker(self, card: WorkerCard) -> None:
        """One round trip a heartbeat: the worker's card, renewed with its expiry
        (a few beats long, however slow the beat is set).

        The card records its own TTL so a reader can tell the age of the last
        beat from the key's remaining life, on Valkey's clock (no skew).
        """
        a, k = self.access, self.keys
        ttl_ms = int(max(WORKER_TTL_S, 3 * self.settings.heartbeat_s) * 1000)
        key = k.worker(card.id)
        fields: dict[str, Arg] = {
            "id": card.id, "host": card.host, "pid": card.pid,
            "concurrency": card.concurrency, "running": len(card.running),
            "jobs": serde.dumps(list(card.running)[:MAX_LISTED_JOBS]),
            "started": round(card.started, 3), "ttl_ms": ttl_ms,
        }
        now_ms = int(time.time() * 1000)
        packed = (
            a.pack("HSET", key, *(x for kv in fields.items() for x in kv))
            + a.pack("PEXPIRE", key, ttl_ms)
            + a.pack("ZADD", k.workers, now_ms, card.id)
            + a.pack("ZREMRANGEBYSCORE", k.workers, "-inf", now_ms - FORGOTTEN_MS)
        )
        ok(await a.send(key_slot(k.workers.encode()), packed, 4))

    async def unregister_worker(self, worker_id: str) -> None:
        a, k = self.access, self.keys
        packed = a.pack("DEL", k.worker(worker_id)) + a.pack("ZREM", k.workers, worker_id)
        ok(await a.send(key_slot(k.workers.encode()), packed, 2))

    async def workers(self) -> tuple[list[tuple[dict[str, str], int]], int]:
        """Each live worker's card with its remaining life (ms), and Valkey's clock.

        A worker whose card expired (it stopped beating) is pruned from the set here.
        """
        a, k = self.access, self.keys
        slot = key_slot(k.workers.encode())
        (ids,) = ok(await a.send(slot, a.pack("ZRANGE", k.workers, 0, MAX_WORKERS - 1), 1))
        packed = b"".join(
            a.pack("HGETALL", k.worker(w)) + a.pack("PTTL", k.worker(w)) for w in ids
        ) + a.pack("TIME")
        *replies, now = ok(await a.send(slot, packed, 2 * len(ids) + 1))
        live, gone = [], []
        for wid, card, pttl in zip(ids, replies[::2], replies[1::2], strict=True):
            card = as_dict(card)
            (live.append((card, int(pttl))) if card and int(pttl) > 0 else gone.append(wid))
        if gone:
            ok(await a.send(slot, a.pack("ZREM", k.workers, *gone), 1))
        return live, clock_us(now)

    # -- counts and id pages ----------------------------------------------
    async def queue_counts(self) -> QueueCounts:
        """Queue lengths (stale ids included: the claim skips them), retries
        waiting, leases held and lapsed, failed jobs kept, summed over the
        partitions. Two round trips: the lapsed count needs each server's clock."""
        first = await self._each(
            *(("LLEN", f"{{q:{p.value}}}") for p in PRIORITY_ORDER),
            ("ZCARD", "{delayed}"), ("ZCARD", "{dead}"), ("TIME",),
        )
        a, k = self.access, self.keys
        nows = [clock_us(r[-1]) for r in first]
        second = await a.send_many([
            (k.slot(p), a.pack("ZCOUNT", k.leases(p), "-inf", now)
             + a.pack("ZCOUNT", k.leases(p), f"({now}", "+inf"), 2)
            for p, now in enumerate(nows)
        ])
        n = len(PRIORITY_ORDER)
        return QueueCounts(
            {prio: sum(int(r[i]) for r in first) for i, prio in enumerate(PRIORITY_ORDER)},
            sum(int(r[n]) for r in first), sum(int(r[1]) for r in second),
            sum(int(r[0]) for r in second), sum(int(r[n + 1]) for r in first), max(nows),
        )

    async def lease_page(self, *, lapsed: bool, offset: int, limit: int) -> IdPage:
        """Running jobs (lease in the future) or orphans (lease lapsed), by lease expiry."""
        a, k = self.access, self.keys
        nows = [clock_us(r[0]) for r in await self._each(("TIME",))]
        batch = []
        for p, now in enumerate(nows):
            low, high = ("-inf", now) if lapsed else (f"({now}", "+inf")
            batch.append((k.slot(p), a.pack("ZRANGE", k.leases(p), low, high, "BYSCORE",
                                             "LIMIT", 0, offset + limit + 1, "WITHSCORES"), 1))
        rows = heapq.merge(*(_scored(ok(r)[0]) for r in await a.send_many(batch)),
                           key=lambda row: row[1])
        return _page(list(rows)[offset:], limit, max(nows))

    async def dead_page(self, *, before_us: int | None, limit: int) -> IdPage:
        """Failed jobs, newest first; `before_us` is the previous page's last end time."""
        top = f"({before_us}" if before_us is not None else "+inf"
        replies = await self._each(
            ("ZRANGE", "{dead}", top, "-inf", "BYSCORE", "REV", "LIMIT", 0, limit + 1,
             "WITHSCORES"), ("TIME",))
        rows = heapq.merge(*(_scored(r[0]) for r in replies), key=lambda row: -row[1])
        return _page(list(rows), limit, max(clock_us(r[1]) for r in replies))

    async def pending_page(self, *, offset: int, limit: int) -> IdPage:
        """Queued ids in claim order (high, normal, low; partition by partition),
        then retries by due time.

        Positions count raw entries: a queue may still hold the id of a job
        cancelled while it waited (the claim skips those), so the caller drops
        ids whose job is no longer pending.
        """
        a, k = self.access, self.keys
        end = offset + limit + 1
        sizes = await self._each(*(("LLEN", f"{{q:{p.value}}}") for p in PRIORITY_ORDER))
        batch, base = [], 0
        for i, prio in enumerate(PRIORITY_ORDER):
            for p in range(k.partitions):
                size = int(sizes[p][i])
                lo, hi = max(offset - base, 0), min(end - base, size)
                if lo < hi:
                    batch.append((k.slot(p), a.pack("LRANGE", k.queue(p, prio), lo, hi - 1), 1))
                base += size
        rows: list[tuple[str, int | None]] = []
        for r in await a.send_many(batch):
            rows += [(m, None) for m in ok(r)[0]]
        if len(rows) < end - offset:  # the page reaches into the retries
            skip = max(offset - base, 0)
            delayed = await self._each(("ZRANGE", "{delayed}", 0, skip + end - offset,
                                        "WITHSCORES"))
            merged = list(heapq.merge(*(_scored(r[0]) for r in delayed), key=lambda x: x[1]))
            rows += merged[skip:skip + end - offset - len(rows)]
        now = max(clock_us(r[0]) for r in await self._each(("TIME",)))
        return IdPage(rows[:limit], len(rows) > limit, now)

    async def raw_jobs(self, ids: Sequence[str]) -> list[dict[str, str]]:
        """The job hashes of `ids`, in order; an empty dict for a job that is gone."""
        a, k = self.access, self.keys
        out: list[dict[str, str]] = [{} for _ in ids]
        at, batch = [], []
        for i, job_id in enumerate(ids):
            p = k.partition_of_job(job_id)
            if p is not None:
                at.append(i)
                batch.append((k.slot(p), a.pack("HGETALL", k.job(job_id)), 1))
        for i, r in zip(at, await a.send_many(batch), strict=True):
            out[i] = as_dict(ok(r)[0])
        return out

    async def raw_job_fields(self, job_id: str, *names: str) -> list[str | None]:
        a, k = self.access, self.keys
        p = k.partition_of_job(job_id)
        if p is None:
            return [None] * len(names)
        (got,) = ok(await a.send(k.slot(p), a.pack("HMGET", k.job(job_id), *names), 1))
        return list(got)

    async def retried_as(self, jobs: Sequence[tuple[str, str]]) -> list[str | None]:
        """For each (job id, owner), the id of the job an operator's retry made, if any."""
        a, k = self.access, self.keys
        batch = [
            (k.slot(k.partition_of_owner(owner)),
             a.pack("GET", k.idempotency(owner, retry_idempotency(job_id))), 1)
            for job_id, owner in jobs
        ]
        return [ok(r)[0] for r in await a.send_many(batch)]

    async def mark_retry_of(self, new_id: str, old_id: str) -> None:
        """The new job's link back to the failed job it retries."""
        k = self.keys
        p = k.partition_of_job(new_id)
        if p is not None:
            await self.access.run(Call(k.slot(p), self.scripts.set_if_exists, [k.job(new_id)],
                                       ["retry_of", old_id]))


def _page(rows: list[tuple[str, int]], limit: int, now_us: int) -> IdPage:
    return IdPage([(m, s) for m, s in rows[:limit]], len(rows) > limit, now_us)
