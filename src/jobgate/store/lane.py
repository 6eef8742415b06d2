"""The hottest commands on a connection of their own, with group commit.

Every submit runs the enqueue script, and every event an SSE stream passes on
costs a read. Through redis-py's general path each of those spends more
client CPU than the round trip itself: a pool checkout under a lock, encoding
every argument again, retry and observability hooks. A lane owns one
connection (its round trips never overlap, so one is all it needs), takes
commands its callers packed themselves (a script's constant head is packed
once), and sends the commands that arrive while a round trip is in flight
together in the next one: a thousand streams woken at once cost a few round
trips, not a thousand, and no caller waits on a timer.

A round trip whose connection drops is sent once more when every command in
it is safe to run twice (it may have run the first time); otherwise its
callers hear the error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Arg = str | bytes | int | float
MAX_BATCH = 256  # calls per round trip: bounds the reply a busy process must read at once
Wait = tuple[int, int]  # WAIT's arguments: replicas, timeout ms


@dataclass(slots=True)
class _Call:
    commands: bytes
    replies: int
    idempotent: bool
    wait: Wait | None
    fut: asyncio.Future[list[Any]] | None = None


def bulk(parts: Sequence[bytes]) -> bytes:
    """RESP bulk strings, without the array header. (redis-py's `pack_command`
    does this too, but it was the largest single cost of a submit.)"""
    return b"".join([b"$%d\r\n%b\r\n" % (len(p), p) for p in parts])


def _ascii_bulk(args: Sequence[Arg]) -> bytes | None:
    """`args` as RESP bulk strings when every one is text or a number and all
    of it is ASCII (a job's keys and arguments nearly always are): one string
    built and encoded once, where a length in characters is one in bytes.
    None sends the caller the general way."""
    parts = []
    for a in args:
        if type(a) is str:
            s = a
        elif type(a) is int or type(a) is float:
            s = repr(a)  # as redis-py's encoder writes a number
        else:  # bytes as they are; anything else is redis-py's to refuse
            return None
        parts.append(f"${len(s)}\r\n{s}\r\n")
    text = "".join(parts)
    return text.encode() if text.isascii() else None


class Lane:
    def __init__(self, redis: Redis, name: str) -> None:
        """`name`: the connection's CLIENT name, for operators."""
        pool = redis.connection_pool
        # One deadline per round trip here instead of redis-py's two per command
        # (its send timeout costs a task per call).
        self._timeout: float | None = pool.connection_kwargs.get("socket_timeout")
        kwargs = {**pool.connection_kwargs, "socket_timeout": None, "client_name": name}
        self._conn: AbstractConnection = pool.connection_class(**kwargs)
        # redis-py's encoder, as the URL configured it (untyped there)
        encoder = self._conn.encoder
        self.encode: Callable[[Arg], bytes] = encoder.encode
        self._utf8 = encoder.encoding.lower().replace("-", "") == "utf8"
        self._waiting: list[_Call] = []
        self._busy = False
        self._flusher: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Calls waiting for the round trip in flight; -1 when there is none."""
        return len(self._waiting) if self._busy else -1

    def pack(self, *args: Arg) -> bytes:
        """One command in RESP."""
        return b"*%d\r\n" % len(args) + self.bulk(args)

    def bulk(self, args: Sequence[Arg]) -> bytes:
        """`args` as RESP bulk strings, encoded as the URL says (redis-py's rules)."""
        if self._utf8:
            fast = _ascii_bulk(args)
            if fast is not None:
                return fast
        return bulk([self.encode(a) for a in args])

    async def send(
        self, commands: bytes, replies: int, idempotent: bool = True, wait: Wait | None = None
    ) -> list[Any]:
        """The replies to `commands` (packed, `replies` of them); an error reply
        comes back as its ResponseError, in its place. `idempotent`: safe to
        send again after a dropped connection. `wait` (replicas, ms): the
        round trip ends with one `WAIT` for every write in it, whose reply
        (the replicas that have them) comes last."""
        if self._busy:
            fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            self._waiting.append(_Call(commands, replies, idempotent, wait, fut))
            return await fut
        self._busy = True
        try:
            if wait is None:  # a lone caller: nothing to join or split
                return await self._roundtrip(commands, replies, idempotent)
            return (await self._batch([_Call(commands, replies, idempotent, wait)]))[0]
        except (RedisTimeoutError, RedisConnectionError) as exc:
            self._fail_waiting(exc)  # the server is away: those in line hear it now
            raise
        finally:
            self._hand_over()

    async def _batch(self, calls: list[_Call]) -> list[list[Any]]:
        """One round trip for `calls`: a single WAIT after them all, if any asks."""
        waits = [c.wait for c in calls if c.wait is not None]
        commands, replies = b"".join(c.commands for c in calls), sum(c.replies for c in calls)
        if waits:
            wait = (max(w[0] for w in waits), max(w[1] for w in waits))
            commands, replies = commands + self.pack("WAIT", *wait), replies + 1
        flat = await self._roundtrip(commands, replies, all(c.idempotent for c in calls))
        out, at = [], 0
        for c in calls:
            got = flat[at : at + c.replies]
            at += c.replies
            out.append(got + flat[-1:] if c.wait is not None else got)
        return out

    def _fail_waiting(self, exc: Exception) -> None:
        waiting, self._waiting = self._waiting, []
        for c in waiting:
            if c.fut is not None and not c.fut.done():
                c.fut.set_exception(exc)

    def _hand_over(self) -> None:
        """After a round trip: send whatever queued meanwhile, or go idle."""
        if self._waiting:
            self._flusher = asyncio.create_task(self._flush())
        else:
            self._busy = False

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    results = await self._batch(batch)
                except Exception as exc:  # the round trip failed: every caller hears it
                    for c in batch:
                        if c.fut is not None and not c.fut.done():
                            c.fut.set_exception(exc)
                    if isinstance(exc, RedisTimeoutError | RedisConnectionError):
                        self._fail_waiting(exc)
                    continue
                for c, r in zip(batch, results, strict=True):
                    if c.fut is not None and not c.fut.done():
                        c.fut.set_result(r)
        finally:
            self._busy = False
            self._flusher = None

    async def _roundtrip(self, commands: bytes, replies: int, idempotent: bool) -> list[Any]:
        try:
            return await self._exchange(commands, replies)
        except RedisConnectionError:
            if not idempotent:
                raise
            return await self._exchange(commands, replies)  # reconnects; see the docstring

    async def _exchange(self, commands: bytes, replies: int) -> list[Any]:
        conn, timeout = self._conn, self._timeout
        loop = asyncio.get_running_loop()
        try:
            # A deadline on progress, not on the whole batch: a large batch read by
            # a busy process is slow, not a sign that Redis is away.
            async with asyncio.timeout(timeout) as deadline:
                if not conn.is_connected:  # connect() finds Sentinel's current primary
                    await conn.connect()  # type: ignore[no-untyped-call]
                await conn.send_packed_command(commands)
                results: list[Any] = []
                for i in range(replies):
                    if i and timeout is not None:
                        deadline.reschedule(loop.time() + timeout)
                    try:
                        results.append(await conn.read_response())
                    except ResponseError as err:  # that command failed; the rest are in step
                        results.append(err)
                return results
        except BaseException as exc:
            await conn.disconnect(nowait=True)  # half-read replies: never reuse it
            if isinstance(exc, TimeoutError):
                raise RedisTimeoutError(f"no reply from Redis in {self._timeout} s") from exc
            raise

    async def aclose(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        await self._conn.disconnect()


class Lanes:
    """Several lanes to one server; a call takes an idle one, else the shortest
    line. With one lane, the client packs the next batch only once the server
    has answered the last; with two, one batch is packed and sent while the
    server runs the other (a busy producer's throughput, not a lone call's
    latency). Calls on different lanes may run in either order, as concurrent
    calls may anyway: a caller's next call is sent after its reply."""

    def __init__(self, redis: Redis, name: str, n: int) -> None:
        self.all = [Lane(redis, name) for _ in range(n)]  # each connects on first use

    def pick(self) -> Lane:
        best = self.all[0]
        for lane in self.all:
            q = lane.queued
            if q < 0:
                return lane
            if q < best.queued:
                best = lane
        return best

    async def aclose(self) -> None:
        for lane in self.all:
            await lane.aclose()
