"""Celery on the Redis broker and result backend, threads pool; clients wait
with `AsyncResult.get()` (the Redis backend's pub/sub consumer)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from celery import Celery

from bench.common import noop_result
from bench.drivers.base import SyncSystem, main_sync

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
app = Celery("bench", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    result_expires=3600, task_default_queue="bench", worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop")
def noop(x: float) -> Any:
    return noop_result(x)


class CelerySys(SyncSystem):
    def enqueue(self, payload: float) -> Any:
        return noop.apply_async((payload,))

    def wait(self, handle: Any) -> dict[str, Any]:
        res: dict[str, Any] = handle.get(timeout=60)
        return res

    def run_worker(self, args: argparse.Namespace) -> None:
        app.worker_main([
            "worker", "--pool=threads", f"--concurrency={args.concurrency}",
            "--loglevel=WARNING", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ])


if __name__ == "__main__":
    main_sync(CelerySys())
