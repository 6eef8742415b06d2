"""Scenario 4: an API process dies while clients submit and while they wait.

The API holds no job state: a client that loses its connection retries the
same request, with the same Idempotency-Key, against another API process and
gets the same job; a waiting client carries on where it was.

No worker runs until the last step has its long-poll waiting: until then
every job holds still in `pending`, so what a client sees cannot race a worker.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from typing import Any

import httpx
import pytest
import redis

from jobgate.store.keys import Keys
from tests.chaos.harness import (
    PREFIX,
    STARTUP_S,
    Cluster,
    events,
    request_body,
    wait_until,
    waiting_clients,
)

# a hang guard only: every wait follows progress or a process start (STARTUP_S)
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


class FailoverClient:
    """A client that tries each API process in turn on a connection failure."""

    def __init__(self, urls: list[str], headers: dict[str, str]) -> None:
        self.clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=10) for u in urls]
        self.failovers = 0
        self.codes: list[int] = []

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        for attempt in range(40):
            c = self.clients[attempt % len(self.clients)] if attempt else self.clients[0]
            try:
                resp = await c.request(method, url, **kw)
            except httpx.TransportError:
                self.failovers += 1
                await asyncio.sleep(0.05)
                continue
            self.codes.append(resp.status_code)
            return resp
        raise AssertionError(f"{method} {url}: no API answered")

    async def aclose(self) -> None:
        for c in self.clients:
            await c.aclose()


async def test_api_killed_during_submit_and_wait(cluster: Cluster, r: redis.Redis) -> None:
    cluster.extra_env.update({"JOBGATE_SIM_STEP_S": "0.5"})
    cluster.start_api()
    cluster.start_api()
    urls = [cluster.api_url(0), cluster.api_url(1)]
    client = FailoverClient(urls, cluster.headers())
    try:
        # 1. The job is created, then the process dies before the client hears back:
        #    `Prefer: wait` holds the response open while the job runs.
        key = f"k-{uuid.uuid4()}"
        slow = request_body(steps=4, query="killed while I waited for the 202")
        first = asyncio.create_task(client.clients[0].post(
            f"{PREFIX}/submit", json=slow,
            headers={"Idempotency-Key": key, "Prefer": "wait=30"}))
        owner_jobs = Keys(cluster.namespace).owner_jobs("alice")
        await wait_until(lambda: r.zcard(owner_jobs) == 1, STARTUP_S, "the job to exist")
        cluster.apis[0].kill()
        with pytest.raises(httpx.TransportError):
            await first
        retry = await client.clients[1].post(
            f"{PREFIX}/submit", json=slow, headers={"Idempotency-Key": key})
        assert retry.status_code == 202, retry.text
        assert "already submitted" in retry.json()["message"]
        job_id = retry.json()["job_id"]
        assert r.zrange(owner_jobs, 0, -1) == [job_id]
        cluster.restart_api(0)

        # 2. Many clients submit while the process they talk to is killed (twice).
        keys = [f"burst-{i}-{uuid.uuid4()}" for i in range(60)]
        answers: dict[str, set[str]] = {k: set() for k in keys}

        async def submit(k: str, i: int) -> None:
            await asyncio.sleep(i * 0.02)
            resp = await client.request(
                "POST", f"{PREFIX}/submit", json=request_body(steps=1, query=k),
                headers={"Idempotency-Key": k})
            assert resp.status_code == 202, resp.text
            answers[k].add(resp.json()["job_id"])

        burst = [asyncio.create_task(submit(k, i)) for i, k in enumerate(keys)]
        await asyncio.sleep(0.3)
        cluster.apis[0].signal(signal.SIGKILL)
        await asyncio.sleep(0.4)
        cluster.restart_api(0)
        cluster.apis[0].signal(signal.SIGKILL)
        await asyncio.gather(*burst)
        cluster.restart_api(0)
        # exactly one job per key: the owner has the first job plus one per key
        assert all(len(v) == 1 for v in answers.values())
        assert r.zcard(owner_jobs) == 1 + len(keys)
        assert client.failovers > 0, "no submit was cut by the kill: nothing was tested"

        # 3. A client long-polls API 0, which dies while it waits; it carries on with API 1.
        #    The job is `pending` (no worker yet) until the long-poll waits; the
        #    worker starts only then, and takes it first (high priority).
        resp = await client.request("POST", f"{PREFIX}/submit",
                                    json={**request_body(steps=7), "priority": "high"})
        job_id = resp.json()["job_id"]
        status_url = f"{PREFIX}/jobs/{job_id}/status"
        first_poll = await client.clients[0].get(status_url)
        waiting = asyncio.create_task(client.clients[0].get(
            status_url, params={"wait": 20}, timeout=30,
            headers={"If-None-Match": first_poll.headers["etag"]}))
        assert first_poll.json()["status"] == "pending"
        await wait_until(lambda: waiting_clients(urls[0]) >= 1, STARTUP_S, "the long-poll")
        cluster.apis[0].kill()
        with pytest.raises(httpx.TransportError):
            await waiting
        cluster.start_worker(concurrency=16)
        etag, statuses = first_poll.headers["etag"], [first_poll.json()["status"]]
        unchanged = 0  # long-polls in a row that ran out (the worker may be slow to start)
        while statuses[-1] not in ("completed", "failed", "cancelled"):
            resp = await client.clients[1].get(
                status_url, params={"wait": 20}, timeout=30, headers={"If-None-Match": etag})
            assert resp.status_code == 200, resp.text
            unchanged = unchanged + 1 if resp.headers["etag"] == etag else 0
            assert unchanged < 6, f"the job has not moved for two minutes: {resp.text}"
            etag = resp.headers["etag"]
            statuses.append(resp.json()["status"])
        assert statuses[-1] == "completed"
        result = await client.clients[1].get(f"{PREFIX}/jobs/{job_id}/result")
        assert result.json()["status"] == "completed" and result.json()["attempt"] == 1
        assert [c for c in client.codes if c >= 500] == []
        assert len([e for e in events(r, cluster.namespace, job_id)
                    if e.type == "state" and e.data["status"] == "completed"]) == 1
    finally:
        await client.aclose()

