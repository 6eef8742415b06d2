"""SAQ: a list queue the worker blocks on (BLMOVE); clients wait on the job's
pub/sub channel (`refresh(until_complete=...)`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from saq import Queue, Worker

from bench.common import noop_result
from bench.drivers.base import AsyncSystem, main_async, run_loop

TTL_S = 3600


def make_queue(url: str) -> Queue:
    return Queue.from_url(url, name="bench", dump=json.dumps, load=json.loads)


async def noop(ctx: dict[str, Any], *, x: Any) -> Any:
    return noop_result(x)


class Saq(AsyncSystem):
    async def open(self, args: argparse.Namespace) -> None:
        self.queue = make_queue(args.url)
        if hasattr(self.queue, "connect"):
            await self.queue.connect()

    async def close(self) -> None:
        await self.queue.disconnect()

    async def enqueue(self, payload: float) -> Any:
        return await self.queue.enqueue("noop", x=payload, ttl=TTL_S)

    async def wait(self, handle: Any) -> dict[str, Any]:
        await handle.refresh(until_complete=60)
        res: dict[str, Any] = handle.result
        return res

    def run_worker(self, args: argparse.Namespace) -> None:
        async def go() -> None:
            queue = make_queue(args.url)
            if hasattr(queue, "connect"):
                await queue.connect()
            await Worker(queue, functions=[noop], concurrency=args.concurrency).start()

        run_loop(go())


if __name__ == "__main__":
    main_async(Saq())
