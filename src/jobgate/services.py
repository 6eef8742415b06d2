"""Opens what a process needs to serve jobs: the store and the notifier.

A server process opens them once, in runtime.py. With no JOBGATE_REDIS_URL,
`jobgate up` starts an embedded Valkey first and builds its settings with
that URL; `jobgate api` and `jobgate worker` need a URL (several processes
must share one server).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from jobgate.settings import Settings
from jobgate.store.access import Access
from jobgate.store.connection import TRANSIENT, check_eviction_policy, check_mode
from jobgate.store.jobs import JobStore
from jobgate.store.keys import Keys
from jobgate.store.nodes import SingleNode, open_nodes
from jobgate.store.notifier import Notifier
from jobgate.store.subscriber import Subscriber


@dataclass
class Services:
    settings: Settings
    store: JobStore
    notifier: Notifier
    _redis: Any = None

    @classmethod
    async def open(cls, settings: Settings, *, check_policy: bool = True) -> Services:
        nodes = await open_nodes(settings, settings.redis_max_connections)
        access = Access(nodes, min_replicas_ack=settings.redis_min_replicas_ack,
                        wait_ms=max(int(settings.redis_timeout_s * 500), 10))
        keys = Keys(settings.namespace, settings.partitions)
        store = JobStore(access, keys, settings)
        try:
            with contextlib.suppress(*TRANSIENT):  # unreachable now: /readyz will say so
                await check_mode(nodes.lanes()[0], settings.redis_mode)
                await store.check_partitions()
                if check_policy:
                    for lane in nodes.lanes():
                        await check_eviction_policy(lane)
        except BaseException:
            await store.aclose()
            raise

        def subscriber(on_message: Any, on_reset: Any) -> Subscriber:
            return Subscriber(nodes, [keys.notify(p) for p in range(keys.partitions)],
                              [keys.slot(p) for p in range(keys.partitions)],
                              on_message, on_reset, "jobgate-notifier")

        return cls(settings, store, Notifier(subscriber))

    @property
    def redis(self) -> Any:
        """A redis-py client for operators and tests (routed by key on a cluster);
        jobgate itself goes through the store."""
        if self._redis is None:
            nodes = self.store.access.nodes
            if isinstance(nodes, SingleNode):
                self._redis = nodes.client
            else:
                from redis.asyncio.cluster import RedisCluster

                assert self.settings.redis_url
                self._redis = RedisCluster.from_url(
                    self.settings.redis_url.split(",")[0], decode_responses=True
                )
        return self._redis

    async def close(self) -> None:
        await self.notifier.stop()
        if self._redis is not None and not isinstance(self.store.access.nodes, SingleNode):
            await self._redis.aclose()
        await self.store.aclose()

