"""Scenario 3: a rolling restart of every worker while long jobs run.

Each cycle SIGTERMs one worker and starts its replacement at once (what a
Deployment rollout does). A worker given SIGTERM stops claiming, lets its
jobs run for JOBGATE_SHUTDOWN_GRACE_S, then hands the rest back without
using up an attempt; another worker starts them at once.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
import redis

from tests.chaos.harness import PREFIX, Cluster, events, request_body, wait_states

pytestmark = pytest.mark.chaos

GRACE_S, LEASE_S = 1.0, 2.0
CYCLES, EVERY_S = 10, 2.0


async def test_rolling_restarts_complete_every_job(cluster: Cluster, r: redis.Redis) -> None:
    cluster.extra_env["JOBGATE_SIM_STEP_S"] = "0.3"  # 7 steps: 2.1 s per job
    cluster.start_api()
    for _ in range(3):
        cluster.start_worker(concurrency=8)
    ids: list[str] = []
    held_at_term: list[tuple[float, set[str]]] = []

    async with httpx.AsyncClient(
        base_url=cluster.url, headers=cluster.headers(), timeout=10
    ) as c:

        async def submit(n: int) -> None:
            for _ in range(n):
                user = {"Authorization": f"Bearer {cluster.token(f'user{len(ids) % 5}')}"}
                resp = await c.post(f"{PREFIX}/submit", json=request_body(steps=7),
                                    headers=user)
                assert resp.status_code == 202, resp.text
                ids.append(resp.json()["job_id"])

        await submit(6)
        await asyncio.sleep(1.5)  # workers up and running jobs
        for cycle in range(CYCLES):
            await submit(3)
            victim = cluster.workers[cycle % len(cluster.workers)]
            t_term = time.time()  # before the snapshot: a job may end right after it
            leases = r.zrange(f"{cluster.namespace}:leases", 0, -1)
            mine = {j for j in leases if cluster.holder(r, j) is victim}
            victim.signal(signal.SIGTERM)
            held_at_term.append((t_term, mine))
            cluster.respawn(victim)
            await asyncio.sleep(EVERY_S)
        hashes = await wait_states(r, cluster.namespace, ids, {"completed", "failed"}, 40)

    assert {h["state"] for h in hashes.values()} == {"completed"}
    # a hand-back does not use up an attempt: nobody was lost
    assert {h["attempt"] for h in hashes.values()} == {"1"}
    # every job a stopping worker held was running again (or done) within grace + lease
    handed_back = 0
    worst = 0.0
    for t_term, held in held_at_term:
        for j in held:
            evs = events(r, cluster.namespace, j)
            if any(e.type == "state" and e.data["status"] == "pending"
                   and e.data["message"] == "worker shutting down; requeued"
                   and e.ms / 1000 >= t_term for e in evs):
                handed_back += 1
            nxt = next(e for e in evs if e.ms / 1000 >= t_term and e.type == "state"
                       and e.data["status"] in ("processing", "completed"))
            if nxt.ms / 1000 - t_term > worst:
                worst = nxt.ms / 1000 - t_term
                timeline = [(round(e.ms / 1000 - t_term, 2), e.type, e.data.get("status"),
                             e.data.get("message")) for e in evs if e.type == "state"]
    assert handed_back > 0, "no job was ever handed back: the test did not test anything"
    assert worst < GRACE_S + LEASE_S, f"a job waited {worst:.2f}s: {timeline}"
    print(f"rolling restart: {len(ids)} jobs, {CYCLES} SIGTERMs, {handed_back} hand-backs, "
          f"longest wait {worst:.2f}s (grace {GRACE_S}s + lease {LEASE_S}s)")
