"""Group commit for script calls: calls made while one is in flight share the next round trip.

A lone caller goes straight to Redis. Callers that arrive while a call is in
flight queue up and are sent together in one pipeline as soon as it returns,
so 32 concurrent submitters cost a few round trips, not 32, and no caller
waits on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_Call = tuple[Sequence[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self._redis = redis
        self._script = script
        self._pending: list[_Call] = []
        self._busy = False
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, args: Sequence[Any]) -> Any:
        if self._busy:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending.append((args, fut))
            return await fut
        self._busy = True
        try:
            return await self._script(args=args)
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """After a call: flush whoever queued meanwhile, or go idle."""
        if self._pending:
            self._flusher = asyncio.create_task(self._flush())
        else:
            self._busy = False

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._send(batch)
        finally:
            self._busy = False
            self._flusher = None

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for args, _ in batch:
                    await self._script(args=args, client=pipe)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the whole round trip failed: every caller hears it
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(result, Exception):
                fut.set_exception(result)
            else:
                fut.set_result(result)

    async def aclose(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
