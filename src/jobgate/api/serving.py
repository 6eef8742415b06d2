"""uvicorn with jobgate's stop: waits end at the first signal, a second hands jobs back.

At the first signal the waits end (open streams close cleanly, long-polls
answer now, so clients resume on another process) and the in-process
workers start their grace while connections drain, not after. A second
signal hands the running jobs back at once and, unlike plain uvicorn, still
runs the app's shutdown, so the hand-back is written.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

WS_CLOSE_WAIT_S = 2.0  # at shutdown, for every WebSocket to be closed with 1001


def serve(
    app: FastAPI, host: str, port: int, *, sock: socket.socket | None = None,
    graceful_s: int, on_ready: Callable[[], None] | None = None,
) -> None:
    """Run uvicorn until a signal; `graceful_s`: how long connections may drain."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=graceful_s,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, re-raised after a clean stop
        _server(config, app, on_ready).run(sockets=[sock] if sock is not None else None)


def _begin_stop(app: Any, now: bool) -> None:
    """On the loop, at a stop signal: waits end; workers stop claiming (`now`: hand back)."""
    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        runtime.svc.notifier.close_waits()
    connections = getattr(app.state, "connections", None)
    if connections is not None:
        connections.close_all()  # every WebSocket gets 1001, every user feed ends
    if runtime is not None:
        runtime.request_stop(now=now)


def _server(
    config: uvicorn.Config, app: FastAPI, on_ready: Callable[[], None] | None
) -> uvicorn.Server:
    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            again = self.should_exit
            super().handle_exit(sig, frame)
            loop = getattr(app.state, "loop", None)
            if loop is not None:
                loop.call_soon_threadsafe(_begin_stop, app, again)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                on_ready()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            connections = getattr(app.state, "connections", None)
            if connections is not None:  # our 1001 first: uvicorn would send 1012
                connections.close_all()
                await connections.wait_closed(WS_CLOSE_WAIT_S)
            await super().shutdown(sockets)
            app_stopped = getattr(self.lifespan, "shutdown_event", None)
            if self.force_exit and app_stopped is not None and not app_stopped.is_set():
                await self.lifespan.shutdown()

    return Server(config)
