"""What a handler gets: progress and events out, cancellation and deadline in.

Every write carries the attempt's lease id; once the worker has lost the job
(lease lapsed and another attempt took it, or the job was cancelled) the
store rejects the write with `LeaseLost` and the handler's task is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobgate.store.jobs import JobStore


class JobContext:
    """Handed to `async def handler(ctx, payload)` for one attempt of one job."""

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        lease: str,
        attempt: int,
        owner: str,
        deadline: float,
        max_attempts: int = 1,
    ) -> None:
        self._store = store
        self.job_id = job_id
        self.lease = lease
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.owner = owner
        self.deadline = deadline  # time.monotonic() value after which the job times out
        self._cancelled = asyncio.Event()

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled or this attempt lost its lease."""
        return self._cancelled.is_set()

    async def wait_cancelled(self) -> None:
        await self._cancelled.wait()

    def mark_cancelled(self) -> None:
        self._cancelled.set()

    def time_left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    async def progress(
        self,
        fraction: float,
        message: str | None = None,
        step: Mapping[str, Any] | None = None,
    ) -> None:
        """Record progress (0..1, clamped), a message and the current step."""
        await self._store.progress(
            self.job_id, self.lease, min(max(fraction, 0.0), 1.0), message, step
        )

    async def event(self, type: str, data: Mapping[str, Any]) -> None:
        """Append an event (an agent's output, streamed tokens) to the job's log."""
        await self._store.append_event(self.job_id, self.lease, type, data)
