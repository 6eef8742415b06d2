"""A hot script on a connection of its own, with group commit.

Every submit runs the enqueue script once. Through redis-py's general path
that costs more client CPU than the round trip itself (a pool checkout under
a lock, per-argument encoding of the script's constant arguments, retry and
observability hooks). A lane packs the constant head of the command once,
owns one connection (its calls never overlap, so one is all it needs), and
sends the calls that arrive while one is in flight together in the next round
trip: 32 concurrent submitters cost a few round trips, not 32, and no caller
waits on a timer.

The script must be safe to run twice with the same arguments: a call whose
connection drops is sent once more, and it may have run the first time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Arg = str | bytes | int | float
_Call = tuple[Sequence[Arg], "asyncio.Future[Any]"]


class ScriptLane:
    def __init__(
        self, redis: Redis, script: AsyncScript, fixed: Sequence[Arg], name: str
    ) -> None:
        """`fixed`: the script's first arguments, the same in every call; `name`:
        the connection's CLIENT name, for operators."""
        pool = redis.connection_pool
        self._redis = redis
        self._script = script
        # One deadline per round trip here instead of redis-py's two per command
        # (its send timeout costs a task per call).
        self._timeout: float | None = pool.connection_kwargs.get("socket_timeout")
        kwargs = {**pool.connection_kwargs, "socket_timeout": None, "client_name": name}
        self._conn: AbstractConnection = pool.connection_class(**kwargs)
        self._head = [b"EVALSHA", script.sha.encode(), b"0", *map(self._encode, fixed)]
        self._prefix: dict[int, bytes] = {}
        self._pending: list[_Call] = []
        self._busy = False
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, args: Sequence[Arg]) -> Any:
        if self._busy:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending.append((args, fut))
            return await fut
        self._busy = True
        try:
            (result,) = await self._run([args])
        finally:
            self._hand_over()
        if isinstance(result, Exception):
            raise result
        return result

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
                try:
                    results = await self._run([args for args, _ in batch])
                except Exception as exc:  # the round trip failed: every caller hears it
                    results = [exc] * len(batch)
                for (_, fut), result in zip(batch, results, strict=True):
                    if fut.done():
                        continue
                    if isinstance(result, Exception):
                        fut.set_exception(result)
                    else:
                        fut.set_result(result)
        finally:
            self._busy = False
            self._flusher = None

    async def _run(self, calls: list[Sequence[Arg]]) -> list[Any]:
        """Each call's reply or error; reloads the script if the server forgot it."""
        try:
            results = await self._roundtrip(calls)
        except RedisConnectionError:
            results = await self._roundtrip(calls)  # reconnects; see the module docstring
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:  # a restarted server: the calls that hit NOSCRIPT did not run
            await self._redis.script_load(self._script.script)
            again = await self._roundtrip([calls[i] for i in missing])
            for i, r in zip(missing, again, strict=True):
                results[i] = r
        return results

    async def _roundtrip(self, calls: list[Sequence[Arg]]) -> list[Any]:
        conn = self._conn
        try:
            async with asyncio.timeout(self._timeout):
                await conn.send_packed_command(b"".join(map(self._pack, calls)))
                results: list[Any] = []
                for _ in calls:
                    try:
                        results.append(await conn.read_response())
                    except ResponseError as err:  # that call failed; the rest are in step
                        results.append(err)
                return results
        except BaseException as exc:
            await conn.disconnect(nowait=True)  # half-read replies: never reuse it
            if isinstance(exc, TimeoutError):
                raise RedisTimeoutError(f"no reply from Redis in {self._timeout} s") from exc
            raise

    def _pack(self, args: Sequence[Arg]) -> bytes:
        n = len(args)
        prefix = self._prefix.get(n)
        if prefix is None:
            prefix = self._prefix[n] = b"*%d\r\n" % (len(self._head) + n) + self._bulk(self._head)
        return prefix + self._bulk([self._encode(a) for a in args])

    @staticmethod
    def _bulk(parts: Sequence[bytes]) -> bytes:
        return b"".join(b"$%d\r\n%b\r\n" % (len(p), p) for p in parts)

    @staticmethod
    def _encode(value: Arg) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bool):
            raise TypeError("booleans are ambiguous in Redis; pass 0/1 or a string")
        if isinstance(value, int):
            return b"%d" % value
        return repr(value).encode()

    async def aclose(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        await self._conn.disconnect()
