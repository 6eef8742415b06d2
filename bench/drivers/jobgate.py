"""jobgate, driven at the engine: JobStore.enqueue (one EVALSHA on its lane), a Worker
process like `jobgate worker` (batched claim, group-committed completions),
and waiting as the API does (one pub/sub subscription + a read on wake)."""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import noop_result
from bench.drivers.base import AsyncSystem, main_async

NAMESPACE = "bench"
KIND = "bench_noop"


def settings_for(url: str, variant: str = "default") -> Any:
    """`default`: the engine alone, as the peers run (results stay in Valkey; no
    worker copies them to SQL). `history`: as deployed by default, every worker
    process also archiving each finished job into the SQL history (SQLite)."""
    from jobgate.settings import Settings

    return Settings(
        redis_url=url, namespace=NAMESPACE, max_active_jobs_per_user=10**9,
        result_ttl_s=3600, log_level="WARNING", archive_in_workers=variant == "history",
    )


async def bench_noop(ctx: Any, payload: Any) -> Any:
    return noop_result(payload)


class Jobgate(AsyncSystem):
    async def open(self, args: argparse.Namespace) -> None:
        from jobgate.services import Services

        self.svc = await Services.open(settings_for(args.url))
        if args.command == "latency":
            self.svc.notifier.start()
            await self.svc.notifier.connected.wait()

    async def close(self) -> None:
        await self.svc.close()

    async def enqueue(self, payload: float) -> Any:
        return (await self.svc.store.enqueue(KIND, "bench", payload)).job_id

    async def wait(self, handle: Any) -> dict[str, Any]:
        with self.svc.notifier.watch(handle) as w:
            while True:
                job = await self.svc.store.get(handle)
                if job is not None and job.terminal:
                    result: dict[str, Any] = job.result
                    return result
                await w.wait(5.0)

    def run_worker(self, args: argparse.Namespace) -> None:
        from jobgate import logs
        from jobgate.cli import _run

        settings = settings_for(args.url, args.variant)
        logs.setup("WARNING", True)
        _run(_worker(settings, args.concurrency))


async def _worker(settings: Any, concurrency: int) -> None:
    from jobgate import runtime
    from jobgate.handlers import registry

    handlers = {**registry(settings), KIND: bench_noop}
    await runtime.run(settings, runtime.Roles(
        workers=1, concurrency=concurrency, handlers=lambda _history: handlers))


if __name__ == "__main__":
    main_async(Jobgate())
