"""arq: a sorted-set queue polled by the worker (`poll_delay`, 0.5 s by default);
clients wait by polling the result key. Variant `fast`: poll_delay=0.01 on both."""

from __future__ import annotations

import argparse
import json
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job
from arq.worker import Worker

from bench.common import noop_result
from bench.drivers.base import AsyncSystem, main_async, run_loop

QUEUE = "bench:arq"
TTL_S = 3600


def dumps(v: Any) -> bytes:
    return json.dumps(v).encode()


async def noop(ctx: dict[str, Any], x: Any) -> Any:
    return noop_result(x)


def poll_delay(variant: str) -> float:
    return 0.01 if variant == "fast" else 0.5


class Arq(AsyncSystem):
    async def open(self, args: argparse.Namespace) -> None:
        self.delay = poll_delay(args.variant)
        self.pool = await create_pool(
            RedisSettings.from_dsn(args.url), default_queue_name=QUEUE,
            job_serializer=dumps, job_deserializer=json.loads,
        )

    async def close(self) -> None:
        await self.pool.aclose()

    async def enqueue(self, payload: float) -> Any:
        return await self.pool.enqueue_job("noop", payload)

    async def wait(self, handle: Job) -> dict[str, Any]:
        res: dict[str, Any] = await handle.result(timeout=60, poll_delay=self.delay)
        return res

    def run_worker(self, args: argparse.Namespace) -> None:
        async def go() -> None:
            w = Worker(
                functions=[noop], redis_settings=RedisSettings.from_dsn(args.url),
                queue_name=QUEUE, max_jobs=args.concurrency, poll_delay=poll_delay(args.variant),
                keep_result=TTL_S, job_serializer=dumps, job_deserializer=json.loads,
                handle_signals=False, log_results=False,
            )
            await w.main()

        run_loop(go())


if __name__ == "__main__":
    main_async(Arq())
