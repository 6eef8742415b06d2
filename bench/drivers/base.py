"""The commands every driver shares: submit, latency, worker; async and sync flavours.

A driver supplies an `AsyncSystem` (or `SyncSystem`): how to open/close,
enqueue one no-op job carrying a timestamp, wait for its result in the
system's own way, and run its worker. This module does the timing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from bench.common import commands_delta, commandstats, emit, latency_stats, percentile


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["submit", "worker", "latency"])
    p.add_argument("--url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    p.add_argument("--variant", default="default")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--producers", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rate", type=float, default=100.0)
    return p.parse_args(argv)


def _submit_report(lat: list[float], seconds: float, r: redis.Redis, before: dict[str, int],
                   n: int) -> dict[str, Any]:
    delta = commands_delta(before, commandstats(r))
    return {
        "jobs": n, "seconds": seconds, "jobs_per_s": n / seconds,
        "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
        "commands_per_job": sum(delta.values()) / n, "commands": delta,
    }


class AsyncSystem:
    async def open(self, args: argparse.Namespace) -> None: ...
    async def close(self) -> None: ...
    async def enqueue(self, payload: float) -> Any: raise NotImplementedError
    async def wait(self, handle: Any) -> dict[str, Any]: raise NotImplementedError
    def run_worker(self, args: argparse.Namespace) -> None: raise NotImplementedError


async def _submit_async(sys_: AsyncSystem, args: argparse.Namespace) -> dict[str, Any]:
    r = redis.Redis.from_url(args.url)
    await sys_.open(args)
    await sys_.enqueue(time.time())  # warm-up: connections, script loads
    lat: list[float] = []
    left = [args.n - 1]

    async def producer() -> None:
        while left[0] > 0:
            left[0] -= 1
            t = time.perf_counter()
            await sys_.enqueue(time.time())
            lat.append(time.perf_counter() - t)

    before = commandstats(r)
    t0 = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(args.producers)))
    seconds = time.perf_counter() - t0
    out = _submit_report(lat, seconds, r, before, args.n - 1)
    await sys_.close()
    return out


async def _latency_async(sys_: AsyncSystem, args: argparse.Namespace) -> dict[str, Any]:
    await sys_.open(args)
    await sys_.wait(await sys_.enqueue(time.time()))  # worker is up and warm
    samples: list[tuple[float, float, float, float]] = []
    errors = [0]
    first_error: list[str] = []

    async def one() -> None:
        t_submit = time.time()
        try:
            res = await sys_.wait(await sys_.enqueue(t_submit))
        except Exception as exc:
            errors[0] += 1
            first_error[:] = first_error or [f"{type(exc).__name__}: {exc}"[:200]]
            return
        samples.append((t_submit, res["t"], res["t"], time.time()))

    rng = random.Random(7)
    tasks, t_next = [], time.perf_counter()
    for _ in range(args.n):
        t_next += rng.expovariate(args.rate)
        delay = t_next - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    await sys_.close()
    return {**latency_stats(samples), "rate": args.rate, "errors": errors[0],
            "first_error": first_error[0] if first_error else None}


def main_async(sys_: AsyncSystem) -> None:
    args = parse()
    if args.command == "worker":
        sys_.run_worker(args)
        return
    coro = _submit_async(sys_, args) if args.command == "submit" else _latency_async(sys_, args)
    emit(run_loop(coro))


def run_loop(coro: Any) -> Any:
    """Every async system, client and worker alike, runs on uvloop when it is there."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


class SyncSystem:
    def open(self, args: argparse.Namespace) -> None: ...
    def enqueue(self, payload: float) -> Any: raise NotImplementedError
    def wait(self, handle: Any) -> dict[str, Any]: raise NotImplementedError
    def run_worker(self, args: argparse.Namespace) -> None: raise NotImplementedError


def _submit_sync(sys_: SyncSystem, args: argparse.Namespace) -> dict[str, Any]:
    r = redis.Redis.from_url(args.url)
    sys_.open(args)
    sys_.enqueue(time.time())
    lat: list[float] = []
    lock = threading.Lock()
    left = [args.n - 1]

    def producer() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            t = time.perf_counter()
            sys_.enqueue(time.time())
            lat.append(time.perf_counter() - t)

    before = commandstats(r)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=producer) for _ in range(args.producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _submit_report(lat, time.perf_counter() - t0, r, before, args.n - 1)


def _latency_sync(sys_: SyncSystem, args: argparse.Namespace) -> dict[str, Any]:
    sys_.open(args)
    sys_.wait(sys_.enqueue(time.time()))
    samples: list[tuple[float, float, float, float]] = []
    errors = [0]

    def one(t_submit: float) -> None:
        try:
            res = sys_.wait(sys_.enqueue(t_submit))
        except Exception:
            errors[0] += 1
            return
        samples.append((t_submit, res["t"], res["t"], time.time()))

    rng = random.Random(7)
    t_next = time.perf_counter()
    with ThreadPoolExecutor(max_workers=128) as pool:
        for _ in range(args.n):
            t_next += rng.expovariate(args.rate)
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, time.time())
    return {**latency_stats(samples), "rate": args.rate, "errors": errors[0]}


def main_sync(sys_: SyncSystem) -> None:
    args = parse()
    if args.command == "worker":
        sys_.run_worker(args)
        return
    run: Callable[[SyncSystem, argparse.Namespace], dict[str, Any]] = (
        _submit_sync if args.command == "submit" else _latency_sync
    )
    emit(run(sys_, args))
