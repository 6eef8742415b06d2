"""What needs a job to hold still: cancelling a running one, the active-job
cap, a `Prefer: wait` that runs out, a long-poll woken by a change.

The `held` API has no worker; a job moves only when the test moves it, so
nothing here races a worker or depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from jobgate.context import JobContext
from tests.api.held import P, listed, run_pending, submitted, until_long_polling
from tests.server import Stack


async def test_cancelling_a_running_job_stops_its_handler_and_nothing_lands(
    held: Stack, held_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(held_client)
    started, stopped = asyncio.Event(), asyncio.Event()

    async def hold(ctx: JobContext, payload: Any) -> Any:
        if ctx.job_id != job_id:
            return {}
        started.set()
        try:
            await asyncio.Event().wait()  # until the worker stops it
        finally:
            stopped.set()

    worker = asyncio.create_task(run_pending(held, tmp_path, hold))
    await asyncio.wait_for(started.wait(), 30)
    status = (await held_client.get(f"{P}/jobs/{job_id}/status")).json()
    assert status["status"] == "processing"
    r = await held_client.post(f"{P}/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    await asyncio.wait_for(stopped.wait(), 30)  # the worker saw the cancel and stopped it
    await asyncio.wait_for(worker, 30)
    result = (await held_client.get(f"{P}/jobs/{job_id}/result")).json()
    assert (result["status"], result["result"]) == ("cancelled", None)
    assert result["error"] == "Job cancelled: cancelled by user"


async def test_the_active_job_cap_is_429_with_retry_after(held_client: httpx.AsyncClient) -> None:
    ids = [await submitted(held_client) for _ in range(3)]  # pending: all three stay active
    r = await held_client.post(f"{P}/submit", json={"request": {"query": "one more"}})
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] and r.json()["code"] == "too_many_active_jobs"
    assert "active jobs" in r.json()["message"]
    for job_id in ids:
        await held_client.post(f"{P}/jobs/{job_id}/cancel")
    assert (await submitted(held_client))  # a freed slot takes a job again


async def test_prefer_wait_that_runs_out_answers_202(held_client: httpx.AsyncClient) -> None:
    r = await held_client.post(f"{P}/submit", json={"request": {"query": "q"}},
                               headers={"Prefer": "respond-async, wait=1"})
    assert r.status_code == 202, r.text
    assert "preference-applied" not in r.headers
    await held_client.post(f"{P}/jobs/{r.json()['job_id']}/cancel")


async def test_a_long_poll_wakes_on_the_change_not_at_its_end(
    held_client: httpx.AsyncClient,
) -> None:
    job_id = await submitted(held_client)
    first = await held_client.get(f"{P}/jobs/{job_id}/status")
    polling = asyncio.create_task(held_client.get(
        f"{P}/jobs/{job_id}/status", params={"wait": 50},
        headers={"If-None-Match": first.headers["etag"]}))
    await until_long_polling(held_client)
    await held_client.post(f"{P}/jobs/{job_id}/cancel")
    r = await asyncio.wait_for(polling, 45)  # well before its 50 s wait
    assert r.json()["status"] == "cancelled" and r.headers["etag"] != first.headers["etag"]


async def test_process_that_runs_out_of_time_answers_202_with_the_job(
    held: Stack, tmp_path: Path,
) -> None:
    """JOBGATE_SYNC_WAIT_S bounds /process: then 202 with where to look."""
    quick = Stack(held.redis_url, f"{held.namespace}-sync", tmp_path / "sync",
                  extra_env={"JOBGATE_SYNC_WAIT_S": "0.5", **{
                      k: v for k, v in held.extra_env.items() if k == "JOBGATE_REDIS_MODE"}})
    quick.start_api()
    try:
        async with httpx.AsyncClient(base_url=quick.url, headers=quick.headers()) as c:
            r = await c.post(f"{P}/process", json={"query": "q"})
            assert r.status_code == 202, r.text
            assert r.json()["job_id"] == await listed(c)
            assert r.headers["location"] == r.json()["status_url"]
    finally:
        quick.stop()
