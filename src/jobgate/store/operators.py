"""The store's side of the operators' API: the worker registry and reads across all users.

A mixin of `JobStore` (one store object; this file keeps jobs.py small).
Every read is a bounded range of one key plus a pipeline of hashes: no
KEYS or SCAN. Which ids make a page, and what a job looks like to an
operator, are decided in api/admin.py; here are only the round trips.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from jobgate import serde
from jobgate.job import PRIORITY_ORDER, Priority
from jobgate.settings import Settings
from jobgate.store.keys import WORKER_TTL_S, Keys, retry_idempotency

MAX_WORKERS = 1000  # listed at most; a fleet larger than this is not a console's job
MAX_LISTED_JOBS = 100  # job ids a worker's registration names
FORGOTTEN_MS = 3_600_000  # a set entry this old is dropped by any beat (its card long gone)
# Sets a field only on a job that still exists: HSET alone would create a hash
# with no TTL if the job had just expired.
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return -1
"""


def _now_us(time_reply: Any) -> int:
    sec, usec = time_reply
    return int(sec) * 1_000_000 + int(usec)


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
    redis: Redis
    keys: Keys
    settings: Settings

    # -- the worker registry ------------------------------------------------
    async def register_worker(self, card: WorkerCard) -> None:
        """One round trip a heartbeat: the worker's card, renewed with its expiry
        (a few beats long, however slow the beat is set).

        The card records its own TTL so a reader can tell the age of the last
        beat from the key's remaining life, on Valkey's clock (no skew).
        """
        ttl_ms = int(max(WORKER_TTL_S, 3 * self.settings.heartbeat_s) * 1000)
        key = self.keys.worker(card.id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={
                "id": card.id, "host": card.host, "pid": card.pid,
                "concurrency": card.concurrency, "running": len(card.running),
                "jobs": serde.dumps(list(card.running)[:MAX_LISTED_JOBS]),
                "started": round(card.started, 3), "ttl_ms": ttl_ms,
            })
            pipe.pexpire(key, ttl_ms)
            now_ms = int(time.time() * 1000)
            pipe.zadd(self.keys.workers, {card.id: now_ms})
            pipe.zremrangebyscore(self.keys.workers, "-inf", now_ms - FORGOTTEN_MS)
            await pipe.execute()

    async def unregister_worker(self, worker_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.keys.worker(worker_id))
            pipe.zrem(self.keys.workers, worker_id)
            await pipe.execute()

    async def workers(self) -> tuple[list[tuple[dict[str, str], int]], int]:
        """Each live worker's card with its remaining life (ms), and Valkey's clock.

        A worker whose card expired (it stopped beating) is pruned from the set here.
        """
        ids = cast(list[str], await self.redis.zrange(self.keys.workers, 0, MAX_WORKERS - 1))
        async with self.redis.pipeline(transaction=False) as pipe:
            for wid in ids:
                pipe.hgetall(self.keys.worker(wid))
                pipe.pttl(self.keys.worker(wid))
            pipe.time()
            *replies, now = await pipe.execute()
        live, gone = [], []
        for wid, card, pttl in zip(ids, replies[::2], replies[1::2], strict=True):
            (live.append((card, int(pttl))) if card and int(pttl) > 0 else gone.append(wid))
        if gone:
            await self.redis.zrem(self.keys.workers, *gone)
        return live, _now_us(now)

    # -- counts and id pages ----------------------------------------------
    async def queue_counts(self) -> QueueCounts:
        """Queue lengths (stale ids included: the claim skips them), retries
        waiting, leases held and lapsed, failed jobs kept. Two round trips:
        the lapsed count needs Valkey's clock first."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in PRIORITY_ORDER:
                pipe.llen(k.queue(p))
            pipe.zcard(k.delayed)
            pipe.zcard(k.dead)
            pipe.time()
            *lengths, delayed, failed, now = await pipe.execute()
        now_us = _now_us(now)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(k.leases, "-inf", now_us)  # the claim script's test for a lost lease
            pipe.zcount(k.leases, f"({now_us}", "+inf")
            orphaned, running = await pipe.execute()
        return QueueCounts(
            dict(zip(PRIORITY_ORDER, (int(n) for n in lengths), strict=True)),
            int(delayed), int(running), int(orphaned), int(failed), now_us,
        )

    async def lease_page(self, *, lapsed: bool, offset: int, limit: int) -> IdPage:
        """Running jobs (lease in the future) or orphans (lease lapsed), by lease expiry."""
        now_us = _now_us(await self.redis.time())
        low, high = ("-inf", now_us) if lapsed else (f"({now_us}", "+inf")
        rows = await self.redis.zrange(
            self.keys.leases, low, high, byscore=True, offset=offset, num=limit + 1,
            withscores=True,
        )
        return _page(cast(list[tuple[str, float]], rows), limit, now_us)

    async def dead_page(self, *, before_us: int | None, limit: int) -> IdPage:
        """Failed jobs, newest first; `before_us` is the previous page's last end time."""
        top = f"({before_us}" if before_us is not None else "+inf"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self.keys.dead, top, "-inf", byscore=True, desc=True, offset=0,
                        num=limit + 1, withscores=True)
            pipe.time()
            rows, now = await pipe.execute()
        return _page(rows, limit, _now_us(now))

    async def pending_page(self, *, offset: int, limit: int) -> IdPage:
        """Queued ids in claim order (high, normal, low), then retries by due time.

        Positions count raw entries: a queue may still hold the id of a job
        cancelled while it waited (the claim skips those), so the caller drops
        ids whose job is no longer pending.
        """
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in PRIORITY_ORDER:
                pipe.llen(k.queue(p))
            pipe.zcard(k.delayed)
            sizes = [int(n) for n in await pipe.execute()]
        start, end = offset, offset + limit + 1
        async with self.redis.pipeline(transaction=False) as pipe:
            base, parts = 0, []
            for i, size in enumerate(sizes):
                lo, hi = max(start - base, 0), min(end - base, size)
                if lo < hi:
                    parts.append(i)
                    if i < len(PRIORITY_ORDER):
                        pipe.lrange(k.queue(PRIORITY_ORDER[i]), lo, hi - 1)
                    else:
                        pipe.zrange(k.delayed, lo, hi - 1, withscores=True)
                base += size
            pipe.time()
            *slices, now = await pipe.execute()
        rows: list[tuple[str, int | None]] = []
        for i, got in zip(parts, slices, strict=True):
            rows += [(m, int(s)) for m, s in got] if i == len(PRIORITY_ORDER) else [
                (m, None) for m in got]
        return IdPage(rows[:limit], len(rows) > limit, _now_us(now))

    async def raw_jobs(self, ids: Sequence[str]) -> list[dict[str, str]]:
        """The job hashes of `ids`, in order; an empty dict for a job that is gone."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(self.keys.job(job_id))
            return cast(list[dict[str, str]], await pipe.execute())

    async def raw_job_fields(self, job_id: str, *names: str) -> list[str | None]:
        return cast(list[str | None], await self.redis.hmget(self.keys.job(job_id), list(names)))

    async def retried_as(self, jobs: Sequence[tuple[str, str]]) -> list[str | None]:
        """For each (job id, owner), the id of the job an operator's retry made, if any."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, owner in jobs:
                pipe.get(self.keys.idempotency(owner, retry_idempotency(job_id)))
            return cast(list[str | None], await pipe.execute())

    async def mark_retry_of(self, new_id: str, old_id: str) -> None:
        """The new job's link back to the failed job it retries."""
        await self.redis.eval(_SET_IF_EXISTS, 1, self.keys.job(new_id), "retry_of", old_id)


def _page(rows: list[tuple[str, float]], limit: int, now_us: int) -> IdPage:
    return IdPage([(m, int(s)) for m, s in rows[:limit]], len(rows) > limit, now_us)
