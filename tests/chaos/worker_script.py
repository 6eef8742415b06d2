"""`jobgate worker` plus a few job kinds that only a crash test wants.

Run as a script (`python tests/chaos/worker_script.py --concurrency 8`), with
the same JOBGATE_* environment as `jobgate worker`. Besides the production
registry (multi_agent, noop, sleep) it runs:

    poison  kills its own process with SIGKILL: the job that takes its worker
            down on every attempt
    gate    {"gate": name, "tick": bool}: holds still until the test opens the
            gate (`harness.open_gate`: the key `<namespace>:gate:<name>`
            exists) or the job is cancelled, then returns {"attempt", "pid"};
            with `tick` it appends a `tick` event (pid, attempt) every 0.1 s
            while it waits
    flaky   fails with a RetryableError on its first attempt, then succeeds
    echo    returns {"payload", "pid", "attempt"} at once
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from redis.asyncio import Redis

from jobgate import logs, runtime
from jobgate.context import JobContext
from jobgate.errors import RetryableError
from jobgate.handlers import registry
from jobgate.settings import Settings
from jobgate.worker import Handler


async def poison(ctx: JobContext, payload: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    await asyncio.sleep(60)  # never reached


async def gate(ctx: JobContext, payload: Any) -> dict[str, Any]:
    settings = Settings()
    key = f"{settings.namespace}:gate:{payload['gate']}"
    r = Redis.from_url(settings.redis_url or "", socket_timeout=5)
    try:
        while not ctx.cancelled and not await r.exists(key):
            if payload.get("tick"):
                await ctx.event("tick", {"pid": os.getpid(), "attempt": ctx.attempt})
            await asyncio.sleep(0.1)
    finally:
        await r.aclose()
    return {"attempt": ctx.attempt, "pid": os.getpid()}


async def flaky(ctx: JobContext, payload: Any) -> dict[str, Any]:
    if ctx.attempt == 1:
        raise RetryableError("upstream hiccup", code="upstream")
    return {"attempt": ctx.attempt}


async def echo(ctx: JobContext, payload: Any) -> dict[str, Any]:
    return {"payload": payload, "pid": os.getpid(), "attempt": ctx.attempt}


EXTRA: dict[str, Handler] = {
    "poison": poison, "gate": gate, "flaky": flaky, "echo": echo,
}


async def main(concurrency: int) -> None:
    settings = Settings()
    handlers = {**registry(settings), **EXTRA}
    await runtime.run(settings, runtime.Roles(
        workers=1, concurrency=concurrency, handlers=lambda _history: handlers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--metrics-port", type=int, default=0)
    args = parser.parse_args()
    s = Settings()
    logs.setup(s.log_level, s.log_json)
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    asyncio.run(main(args.concurrency))
