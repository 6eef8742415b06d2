"""taskiq with taskiq-redis's stream broker (consumer group, acks) and its
async result backend; clients wait by polling the result (`wait_result`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from taskiq.api import run_receiver_task
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench.common import noop_result
from bench.drivers.base import AsyncSystem, main_async, run_loop

TTL_S = 3600
URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

broker = RedisStreamBroker(url=URL, queue_name="bench").with_result_backend(
    RedisAsyncResultBackend(redis_url=URL, result_ex_time=TTL_S)
)


@broker.task(task_name="noop")
async def noop(x: float) -> Any:
    return noop_result(x)


class Taskiq(AsyncSystem):
    async def open(self, args: argparse.Namespace) -> None:
        await broker.startup()

    async def close(self) -> None:
        await broker.shutdown()

    async def enqueue(self, payload: float) -> Any:
        return await noop.kiq(payload)

    async def wait(self, handle: Any) -> dict[str, Any]:
        res = await handle.wait_result(timeout=60)
        out: dict[str, Any] = res.return_value
        return out

    def run_worker(self, args: argparse.Namespace) -> None:
        async def go() -> None:
            broker.is_worker_process = True
            await run_receiver_task(broker, max_async_tasks=args.concurrency, run_startup=True)

        run_loop(go())


if __name__ == "__main__":
    main_async(Taskiq())
