"""The archive outbox: terminal jobs waiting to be copied into SQL history.

`end_job` (lua/_partition.lua) adds a job to its partition's outbox in the
same atomic step that makes it terminal, and sets no TTL; `archived()`
starts the result TTL once the job is safely in the database. So a job
leaves Valkey only after it is archived, whatever happens to the archiver
or the database in between. The oldest entries of all partitions are read
and merged here (each partition's outbox is ordered by completion).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.crc import key_slot

from jobgate.job import Job
from jobgate.store.access import Call
from jobgate.store.replies import as_dict, ok

if TYPE_CHECKING:
    from jobgate.store.jobs import JobStore


@dataclass(frozen=True, slots=True)
class Pending:
    """One outbox entry: the job id, when it ended, and the job (None if gone)."""

    job_id: str
    completed_us: int
    job: Job | None


@dataclass(frozen=True, slots=True)
class OutboxState:
    length: int
    oldest_us: int | None  # completion time of the oldest waiting job
    now_us: int


def _pairs(flat: Any) -> list[tuple[str, int]]:
    if flat and isinstance(flat[0], list | tuple):
        return [(m, int(float(s))) for m, s in flat]
    return [(flat[i], int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


class Outbox:
    def __init__(self, store: JobStore) -> None:
        self.access = store.access
        self.keys = store.keys
        self.scripts = store.scripts
        self.ttl_s = store.settings.result_ttl_s

    def _lease_call(self, token: str, ms: int) -> Call:
        key = self.keys.archiver
        return Call(key_slot(key.encode()), self.scripts.archive_lease, [key], [token, ms])

    async def lease(self, token: str, ms: int) -> bool:
        """Take or renew the archiver lease; False while another archiver holds it."""
        return bool(await self.access.run(self._lease_call(token, ms)))

    async def release(self, token: str) -> None:
        await self.access.run(self._lease_call(token, 0))

    async def peek(self, n: int) -> list[Pending]:
        """The n oldest entries of all partitions, with their jobs."""
        a, k = self.access, self.keys
        entries = (await self._entries(n - 1))[:n]
        if not entries:
            return []
        raws = await a.send_many([
            (k.slot(k.partition_of_job(job_id) or 0), a.pack("HGETALL", k.job(job_id)), 1)
            for job_id, _ in entries
        ])
        return [
            Pending(job_id, score, Job.from_hash(as_dict(raw[0])) if raw[0] else None)
            for (job_id, score), raw in zip(entries, raws, strict=True)
        ]

    async def archived(self, job_ids: list[str]) -> int:
        """Start the result TTL of these archived jobs and take them off the outbox."""
        k = self.keys
        by: dict[int, list[str]] = {}
        for job_id in job_ids:
            p = k.partition_of_job(job_id)
            if p is not None:
                by.setdefault(p, []).append(job_id)
        calls = []
        for p, ids in by.items():
            keys = [k.outbox(p)]
            for job_id in ids:
                keys += [k.job(job_id), k.events(job_id)]
            calls.append(Call(k.slot(p), self.scripts.archived, keys, [self.ttl_s, *ids]))
        return sum(int(n) for n in ok(await self.access.run_many(calls)))

    async def ids(self) -> list[str]:
        """Every job waiting in the outboxes, oldest first (for tests and tools)."""
        return [job_id for job_id, _ in await self._entries(-1)]

    async def _entries(self, last: int) -> list[tuple[str, int]]:
        a, k = self.access, self.keys
        ranges = await a.send_many([
            (k.slot(p), a.pack("ZRANGE", k.outbox(p), 0, last, "WITHSCORES"), 1)
            for p in range(k.partitions)
        ])
        return list(heapq.merge(*(_pairs(ok(r)[0]) for r in ranges), key=lambda e: e[1]))

    async def state(self) -> OutboxState:
        a, k = self.access, self.keys
        replies = await a.send_many([
            (k.slot(p), a.pack("ZCARD", k.outbox(p)) + a.pack(
                "ZRANGE", k.outbox(p), 0, 0, "WITHSCORES") + a.pack("TIME"), 3)
            for p in range(k.partitions)
        ])
        length, oldest, now = 0, None, 0
        for r in replies:
            count, first, (sec, usec) = ok(r)
            length += int(count)
            for _, score in _pairs(first):
                oldest = score if oldest is None else min(oldest, score)
            now = max(now, int(sec) * 1_000_000 + int(usec))
        return OutboxState(length, oldest, now)
