"""Opens what a process needs to serve jobs: Redis clients, the store, the notifier.

With no JOBGATE_REDIS_URL, `jobgate up` starts an embedded Valkey first and
passes its URL in; `jobgate api` and `jobgate worker` need a URL (several
processes must share one server).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from redis.asyncio import Redis

from jobgate.settings import Settings
from jobgate.store.connection import TRANSIENT, check_eviction_policy, connect
from jobgate.store.jobs import JobStore
from jobgate.store.notifier import Notifier


@dataclass
class Services:
    settings: Settings
    redis: Redis
    blocking: Redis
    store: JobStore
    notifier: Notifier

    @classmethod
    async def open(
        cls, settings: Settings, *, check_policy: bool = True, workers_concurrency: int = 0
    ) -> Services:
        """`workers_concurrency`: jobs run in this process, each may write progress."""
        assert settings.redis_url, "resolve the Redis URL (or start embedded Valkey) first"
        redis = connect(
            settings.redis_url, settings.redis_timeout_s,
            settings.redis_max_connections + workers_concurrency, settings.redis_pool_wait_s,
        )
        # BLPOP (one per worker loop) and pub/sub (one per process) hold their
        # connection while they wait, longer than a command may take: their own pool.
        blocking = connect(settings.redis_url, settings.worker_poll_s + 5, max_connections=64)
        if check_policy:
            with contextlib.suppress(*TRANSIENT):  # unreachable now: /readyz will say so
                await check_eviction_policy(redis)
        store = JobStore(redis, settings)
        notifier = Notifier(blocking, store.keys.notify)
        return cls(settings, redis, blocking, store, notifier)

    async def close(self) -> None:
        await self.notifier.stop()
        await self.store.aclose()
        await self.redis.aclose()
        await self.blocking.aclose()
