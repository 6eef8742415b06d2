"""Two asyncio habits the worker needs in several places, written once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def cancel_until_done(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel until they end: Python 3.11's wait_for (redis-py sends with it) drops a
    cancel that lands just as its call completes, so a single cancel can leave a
    task running, and whoever waits for it waiting for ever."""
    pending: set[asyncio.Task[Any]] = set(tasks)
    while pending:
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Until `event` is set or `timeout` seconds pass, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
