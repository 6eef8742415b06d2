"""Waiting on a job without a Redis connection per waiter.

Each waiter registers with the process's Notifier and re-reads the job when
woken; the gauges count waiters by channel for /metrics and Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

from jobgate import metrics
from jobgate.api.views import etag
from jobgate.job import Job
from jobgate.services import Services

CHANNELS = tuple(metrics.WAITING_BY_CHANNEL)
_POLL_WINDOW_S = 15.0


class Waiters:
    """Counts this process's waiting clients; plain pollers by recent activity."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(CHANNELS, 0)
        self._polled: dict[str, float] = {}

    @property
    def total(self) -> int:
        self._prune()
        return self.counts["sse"] + self.counts["long_poll"] + len(self._polled)

    @contextlib.contextmanager
    def waiting(self, channel: str) -> Iterator[None]:
        self.counts[channel] += 1
        metrics.WAITING_BY_CHANNEL[channel].inc()
        try:
            yield
        finally:
            self.counts[channel] -= 1
            metrics.WAITING_BY_CHANNEL[channel].dec()

    def polled(self, job_id: str) -> None:
        # Re-inserted on every poll, so the dict stays ordered by last poll and
        # pruning only ever looks at the expired front: no scan per request.
        self._polled.pop(job_id, None)
        self._polled[job_id] = time.monotonic()

    def _prune(self) -> None:
        cutoff = time.monotonic() - _POLL_WINDOW_S
        while self._polled:
            job_id, at = next(iter(self._polled.items()))
            if at >= cutoff:
                break
            del self._polled[job_id]
        self.counts["poll"] = len(self._polled)
        metrics.WAITING_BY_CHANNEL["poll"].set(len(self._polled))


async def wait_for_change(
    svc: Services, job_id: str, owner: str, timeout: float, baseline: str | None,
    *, terminal_only: bool = False,
) -> tuple[Job, int]:
    """The job once its ETag differs from `baseline` (or it ends), or after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with svc.notifier.watch(job_id, status_only=True) as w:
        job, now = await svc.store.get_owned(job_id, owner)
        baseline = baseline or etag(job)
        while not job.terminal and (terminal_only or etag(job) == baseline):
            left = deadline - loop.time()
            if left <= 0 or svc.notifier.closing:
                break
            await w.wait(left)
            job, now = await svc.store.get_owned(job_id, owner)
    return job, now
