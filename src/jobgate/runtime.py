"""The one wiring root: what a server process runs, opened once and closed in order.

`jobgate up` (the API and N workers), `jobgate api`, `jobgate worker` and
`jobgate archiver` differ only in their `Roles`. `open_runtime` opens the
store and the notifier (`Services`) and the history database once, and
builds the workers and the archiver on them; closing stops the workers
first (their results and hand-backs are written while the store is still
open), then the archiver, then the connections. The settings arrive final
(`Settings` is frozen): `up` resolves Valkey's URL and the secret before.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobgate.history.archiver import Archiver
from jobgate.history.db import History, open_history
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.worker import Handler, Worker

if TYPE_CHECKING:
    import socket

    from fastapi import FastAPI

# The job kinds a worker runs, made from the process's history database (the
# rag agent searches the product's knowledge there).
HandlersFor = Callable[[History], Mapping[str, Handler]]
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class Roles:
    """What a process runs beside (or instead of) the HTTP API."""

    workers: int = 0  # in-process workers
    concurrency: int | None = None  # jobs each worker runs at once; unset: the setting
    burst: bool = False  # workers end once nothing is left to do (tests, benchmarks)
    archiver: bool = False  # archive ended jobs; so too where workers run, by default
    handlers: HandlersFor | None = None  # unset: handlers.registry

    def archives(self, settings: Settings) -> bool:
        return self.archiver or (self.workers > 0 and settings.archive_in_workers)


@dataclass(eq=False)
class Runtime:
    """What one process opened, and the workers and archiver built on it."""

    settings: Settings
    svc: Services
    history: History
    roles: Roles
    workers: list[Worker] = field(default_factory=list)
    archiver: Archiver | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Set the archiver and the workers going in the background."""
        if self.archiver is not None:
            self.archiver.start()
        self._tasks = [asyncio.create_task(w.run(), name=f"worker-{i}")
                       for i, w in enumerate(self.workers)]

    def request_stop(self, *, now: bool = False) -> None:
        """Workers stop claiming and drain (`now`: hand running jobs back at once);
        an archiver that runs alone stops after its batch."""
        for w in self.workers:
            w.request_stop(now=now)
        if not self.workers and self.archiver is not None:
            self.archiver.request_stop()

    async def run(self) -> None:
        """A process without the API: the workers until they end (a stop, or a burst
        that ran dry), or the archiver alone (`burst`: one round)."""
        if not self.workers and self.archiver is not None:
            await (self.archiver.step() if self.roles.burst else self.archiver.run())
            return
        self.start()
        await asyncio.gather(*self._tasks)

    async def _close(self) -> None:
        for w in self.workers:
            w.request_stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.archiver is not None:
            await self.archiver.stop()
        await self.svc.close()
        await self.history.close()


def _handlers(settings: Settings, roles: Roles) -> HandlersFor:
    if roles.handlers is not None:
        return roles.handlers
    from jobgate.handlers import registry

    return lambda history: registry(settings, history)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, roles: Roles = Roles()) -> AsyncIterator[Runtime]:
    """Open the process's services once; on exit, close everything in order."""
    svc = await Services.open(settings)
    try:
        history = open_history(settings)
    except BaseException:
        await svc.close()
        raise
    rt = Runtime(settings, svc, history, roles)
    try:
        handlers = _handlers(settings, roles)
        if roles.archives(settings):
            rt.archiver = Archiver(svc.store, settings, history)
        poke = rt.archiver.poke if rt.archiver is not None else None
        rt.workers = [
            Worker(svc.store, handlers(history), settings, concurrency=roles.concurrency,
                   burst=roles.burst, on_ended=poke)
            for _ in range(roles.workers)
        ]
        yield rt
    finally:
        await rt._close()


async def run(settings: Settings, roles: Roles) -> Runtime:
    """`jobgate worker` and `jobgate archiver`: until SIGTERM/SIGINT (then the workers
    finish or hand back their jobs), or in burst mode until nothing is left."""
    loop = asyncio.get_running_loop()
    try:
        async with open_runtime(settings, roles) as rt:
            for sig in _STOP_SIGNALS:  # kept through the close: a second signal changes nothing
                loop.add_signal_handler(sig, rt.request_stop)
            await rt.run()
    finally:
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return rt


def api_app(settings: Settings, roles: Roles = Roles()) -> FastAPI:
    """The HTTP API, whose lifespan opens this process's runtime (with
    `roles.workers`, the workers run beside it: `jobgate up`)."""
    from jobgate.api.app import create_app

    return create_app(settings, lambda: open_runtime(settings, roles))


def serve_api(
    settings: Settings, roles: Roles, host: str, port: int, *,
    sock: socket.socket | None = None, graceful_s: float | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """`jobgate up` and `jobgate api`: serve until a signal; the first stops
    cleanly, a second at once (api/serving.py)."""
    from jobgate.api.serving import serve

    if graceful_s is None:
        graceful_s = settings.shutdown_grace_s + 5
    serve(api_app(settings, roles), host, port, sock=sock,
          graceful_s=math.ceil(graceful_s), on_ready=on_ready)
