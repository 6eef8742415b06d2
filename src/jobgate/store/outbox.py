"""The archive outbox: terminal jobs waiting to be copied into SQL history.

`end_job` (lua/_lib.lua) adds a job here in the same atomic step that makes
it terminal, and sets no TTL; `archived()` starts the result TTL once the
job is safely in the database. So a job leaves Valkey only after it is
archived, whatever happens to the archiver or the database in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from jobgate.job import Job
from jobgate.settings import Settings
from jobgate.store.keys import Keys
from jobgate.store.scripts import _source


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


def _as_dict(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


class Outbox:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.keys = Keys(settings.namespace)
        self.ttl_s = settings.result_ttl_s
        self._archived = redis.register_script(_source("archived"))
        self._lease = redis.register_script(_source("archive_lease"))

    async def lease(self, token: str, ms: int) -> bool:
        """Take or renew the archiver lease; False while another archiver holds it."""
        return bool(await self._lease(keys=[self.keys.archiver], args=[token, ms]))

    async def release(self, token: str) -> None:
        await self._lease(keys=[self.keys.archiver], args=[token, 0])

    async def peek(self, n: int) -> list[Pending]:
        """The n oldest entries with their jobs, in one round trip after the range read."""
        entries = cast(
            list[tuple[str, float]],
            await self.redis.zrange(self.keys.outbox, 0, n - 1, withscores=True),
        )
        if not entries:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, _ in entries:
                pipe.hgetall(self.keys.job(job_id))
            raws = await pipe.execute()
        return [
            Pending(job_id, int(score), Job.from_hash(_as_dict(raw)) if raw else None)
            for (job_id, score), raw in zip(entries, raws, strict=True)
        ]

    async def archived(self, job_ids: list[str]) -> int:
        """Start the result TTL of these archived jobs and take them off the outbox."""
        if not job_ids:
            return 0
        keys = [self.keys.outbox]
        for job_id in job_ids:
            keys += [self.keys.job(job_id), self.keys.events(job_id)]
        return int(await self._archived(keys=keys, args=[self.ttl_s, *job_ids]))

    async def state(self) -> OutboxState:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.outbox)
            pipe.zrange(self.keys.outbox, 0, 0, withscores=True)
            pipe.time()
            length, oldest, (sec, usec) = await pipe.execute()
        return OutboxState(
            int(length), int(oldest[0][1]) if oldest else None, int(sec) * 1_000_000 + int(usec)
        )
