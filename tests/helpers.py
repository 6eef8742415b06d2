"""Helpers shared by the test suites (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.worker import Handler, Worker


def make_settings(url: str, namespace: str, tmp: Path, **over: Any) -> Settings:
    base: dict[str, Any] = {
        "redis_url": url,
        "namespace": namespace,
        "data_dir": tmp,
        "lease_s": 2.0,
        "heartbeat_s": 0.3,
        "worker_poll_s": 0.2,
        "retry_base_s": 0.05,
        "retry_max_s": 0.2,
        "shutdown_grace_s": 2.0,
        "sim_step_s": 0.05,
        "auth_secret": "test-secret-please-change-0123456789",
    }
    base.update(over)
    return Settings(**base)


async def drain(
    svc: Services, handlers: dict[str, Handler], *, concurrency: int = 8, timeout: float = 120
) -> Worker:
    """Run a burst worker until the queue is empty and nothing runs (`timeout`: a
    hang guard, generous for a busy machine; the drain ends when the work does)."""
    w = Worker(
        svc.store, handlers, svc.settings, concurrency=concurrency, burst=True,
    )
    async with asyncio.timeout(timeout):
        await w.run()
    return w
