"""What the pipeline needs from the engine, and token batching.

`JobReporter` is the narrow slice of `jobgate.context.JobContext` the
pipeline uses; `JobContext` satisfies it structurally, and tests use a small
in-memory reporter instead of a store. Keeping it this narrow keeps the
workload testable without Redis and free of the engine's internals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class JobReporter(Protocol):
    """Progress and events out, cancellation and attempt number in."""

    @property
    def cancelled(self) -> bool: ...

    @property
    def attempt(self) -> int: ...

    async def progress(
        self,
        fraction: float,
        message: str | None = None,
        step: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def event(self, type: str, data: Mapping[str, Any]) -> None: ...


class TokenBatcher:
    """Collects streamed tokens of one agent step into few `token` events.

    A model streams tens of tokens a second per agent; one Redis write per
    token would cost far more than the text is worth, and flood the job's
    capped event stream. Tokens are sent when `interval_s` has passed since
    the last send or `max_chars` have piled up, and on `flush()`.
    """

    def __init__(
        self,
        reporter: JobReporter,
        agent: str,
        index: int,
        *,
        interval_s: float = 0.25,
        max_chars: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reporter = reporter
        self._agent = agent
        self._index = index
        self._interval_s = interval_s
        self._max_chars = max_chars
        self._clock = clock
        self._buffer: list[str] = []
        self._size = 0
        self._last = clock()

    async def add(self, text: str) -> None:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= self._max_chars or self._clock() - self._last >= self._interval_s:
            await self.flush()

    async def flush(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        self._last = self._clock()
        await self._reporter.event(
            "token", {"agent": self._agent, "index": self._index, "text": text}
        )
