"""RQ with its JSON serializer. One worker process runs one job at a time
(RQ has no in-process concurrency); SimpleWorker, so no fork per job.
Clients wait with `job.latest_result(timeout=...)` (a blocking stream read)."""

from __future__ import annotations

import argparse
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from bench.common import noop_result
from bench.drivers.base import SyncSystem, main_sync

TTL_S = 3600


def noop(x: float) -> Any:
    return noop_result(x)


class Rq(SyncSystem):
    def open(self, args: argparse.Namespace) -> None:
        self.queue = Queue("bench", connection=Redis.from_url(args.url), serializer=JSONSerializer)

    def enqueue(self, payload: float) -> Any:
        return self.queue.enqueue("bench.drivers.rq.noop", payload, result_ttl=TTL_S)

    def wait(self, handle: Any) -> dict[str, Any]:
        res = handle.latest_result(timeout=60)
        out: dict[str, Any] = res.return_value
        return out

    def run_worker(self, args: argparse.Namespace) -> None:
        conn = Redis.from_url(args.url)
        q = Queue("bench", connection=conn, serializer=JSONSerializer)
        SimpleWorker([q], connection=conn, serializer=JSONSerializer).work(
            logging_level="WARNING", with_scheduler=False
        )


if __name__ == "__main__":
    main_sync(Rq())
