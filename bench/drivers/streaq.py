"""streaq: Redis streams with consumer groups; clients wait on the task's
result via pub/sub (`task.result()`)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from streaq import Worker

from bench.common import noop_result
from bench.drivers.base import AsyncSystem, main_async, run_loop

TTL_S = 3600
URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))

worker = Worker(
    redis_url=URL, queue_name="bench", concurrency=CONCURRENCY,
    serializer=lambda v: json.dumps(v).encode(), deserializer=json.loads,
)


@worker.task(ttl=TTL_S)
async def noop(x: float) -> Any:
    return noop_result(x)


class Streaq(AsyncSystem):
    async def open(self, args: argparse.Namespace) -> None:
        await worker.__aenter__()

    async def close(self) -> None:
        await worker.__aexit__(None, None, None)

    async def enqueue(self, payload: float) -> Any:
        return await noop.enqueue(payload)

    async def wait(self, handle: Any) -> dict[str, Any]:
        res = await handle.result(timeout=60)
        out: dict[str, Any] = res.result
        return out

    def run_worker(self, args: argparse.Namespace) -> None:
        run_loop(worker.run_async())


if __name__ == "__main__":
    main_async(Streaq())
