"""Helpers of the per-user feed tests (WebSocket /ws, SSE /events): connecting,
reading messages, holding a job still in a handler the test runs, and
reading a server's /metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from jobgate.agents.handler import KIND
from jobgate.context import JobContext
from jobgate.services import Services
from tests.helpers import drain, make_settings
from tests.server import Stack

P = "/api/multi-agent"
TERMINAL = {"completed", "failed", "cancelled"}


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + f"{P}/ws"


def bearer(stack: Stack, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(sub)}"}


def open_ws(base: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    """`async with open_ws(...) as ws`: a client socket to /ws."""
    return connect(ws_url(base), additional_headers=headers, open_timeout=30, **kw)


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        text = await asyncio.wait_for(ws.recv(), timeout)
        message: dict[str, Any] = json.loads(text)
        if message["type"] != "heartbeat":
            return message


def ends(message: dict[str, Any]) -> bool:
    return (message["type"] == "event" and message["event"] == "state"
            and message["data"]["status"] in TERMINAL)


async def until(ws: ClientConnection, pred: Callable[[dict[str, Any]], bool],
                timeout: float = 30) -> list[dict[str, Any]]:
    """Messages up to and including the first that `pred` accepts."""
    got = []
    while True:
        got.append(await recv(ws, timeout))
        if pred(got[-1]):
            return got


async def follow_to_end(ws: ClientConnection, job_ids: set[str],
                        timeout: float = 90) -> dict[str, list[dict[str, Any]]]:
    """Every message of each job until all their terminal events came."""
    per_job: dict[str, list[dict[str, Any]]] = {j: [] for j in job_ids}
    left = set(job_ids)
    while left:
        m = await recv(ws, timeout)
        if m.get("job_id") in per_job:
            per_job[m["job_id"]].append(m)
            if ends(m):
                left.discard(m["job_id"])
    return per_job


async def submit(c: httpx.AsyncClient, query: str = "a to-do list for cats") -> str:
    r = await c.post(f"{P}/submit", json={
        "request": {"query": query, "coordination_mode": "sequential"}})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


async def log_ids(c: httpx.AsyncClient, job_id: str) -> list[str]:
    """The ids of the job's own SSE stream (it has ended: the stream ends too)."""
    ids = []
    async with c.stream("GET", f"{P}/jobs/{job_id}/events") as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("id:"):
                ids.append(line[3:].strip())
    return ids


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    head = f"{name}{{{want}}}" if want else name
    for line in text.splitlines():
        if line.startswith(head + " "):
            return float(line.split()[-1])
    return 0.0


async def until_metric(c: httpx.AsyncClient, name: str, at_least: float,
                       timeout: float = 60, **labels: str) -> float:
    deadline = time.monotonic() + timeout
    while True:
        value = metric((await c.get("/metrics")).text, name, **labels)
        if value >= at_least:
            return value
        assert time.monotonic() < deadline, f"{name}{labels} stayed at {value}"
        await asyncio.sleep(0.05)


@dataclass
class Held:
    """A handler the test steps through: before each step it waits for a
    permit (`allow`), then emits that step's event; `emitted` counts them."""

    steps: int
    payload: Callable[[int], dict[str, Any]] = lambda i: {"step": i}
    only: str | None = None  # the one job held; any other ends at once
    permits: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(0))
    emitted: int = 0
    progressed: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def allow(self, n: int = 1) -> None:
        for _ in range(n):
            self.permits.release()

    async def until_emitted(self, n: int, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while self.emitted < n:
                self.progressed.clear()
                await self.progressed.wait()

    async def __call__(self, ctx: JobContext, payload: Any) -> Any:
        if self.only is not None and ctx.job_id != self.only:
            return {"steps": 0}
        self.started.set()
        for i in range(self.steps):
            await self.permits.acquire()
            await ctx.event("step", self.payload(i))
            self.emitted += 1
            self.progressed.set()
        await self.permits.acquire()  # the last permit ends the job
        return {"steps": self.steps}


def run_held(stack: Stack, tmp: Path, handler: Held) -> asyncio.Task[None]:
    """A burst worker in this process running the stack's pending jobs with
    `handler`, until none is left."""

    async def run() -> None:
        svc = await Services.open(make_settings(stack.redis_url, stack.namespace, tmp))
        try:
            await drain(svc, {KIND: handler}, timeout=300)
        finally:
            await svc.close()

    return asyncio.create_task(run())

