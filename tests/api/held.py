"""Acting on the jobs of the `held` stack (no worker of its own): submit one,
find one, run a burst worker over them with a handler the test chooses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from jobgate.agents.handler import KIND
from jobgate.context import JobContext
from jobgate.errors import PermanentError
from jobgate.services import Services
from jobgate.worker import Handler
from tests.helpers import drain, make_settings
from tests.server import Stack

P = "/api/multi-agent"
QUICK = {"query": "a to-do list for cats", "coordination_mode": "sequential"}
REFUSED = "the LLM provider refused the API key"


async def refuse(ctx: JobContext, payload: Any) -> Any:
    raise PermanentError(REFUSED, code="llm_auth")


async def run_pending(held: Stack, tmp_path: Path, handler: Handler = refuse) -> None:
    """Run every pending job of the stack once with `handler` (by default: fail it)."""
    mode = held.extra_env.get("JOBGATE_REDIS_MODE", "standalone")
    svc = await Services.open(make_settings(held.redis_url, held.namespace, tmp_path,
                                            redis_mode=mode))
    try:
        await drain(svc, {KIND: handler})
    finally:
        await svc.close()


async def submitted(c: httpx.AsyncClient, **kw: Any) -> str:
    r = await c.post(f"{P}/submit", json={"request": QUICK}, **kw)
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


async def listed(c: httpx.AsyncClient) -> str:
    """The id of the caller's newest job, once the server has queued it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = (await c.get(f"{P}/jobs")).json()["jobs"]
        if jobs:
            return str(jobs[0]["job_id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the job never appeared")


def long_polls(metrics_text: str) -> float:
    """How many long-polls the API process says are waiting (its /metrics gauge)."""
    for line in metrics_text.splitlines():
        if line.startswith('jobgate_waiting_clients{channel="long_poll"}'):
            return float(line.split()[-1])
    return 0.0


async def until_long_polling(c: httpx.AsyncClient, n: int = 1) -> None:
    """Return once the API holds `n` long-polls, so a change made next wakes them."""
    deadline = time.monotonic() + 30
    while long_polls((await c.get("/metrics")).text) < n:
        assert time.monotonic() < deadline, "the long-poll never started waiting"
        await asyncio.sleep(0.02)
