"""Scenario 3: a rolling restart of every worker while long jobs run.

Each cycle SIGTERMs one worker and starts its replacement at once (what a
Deployment rollout does). A worker given SIGTERM stops claiming, lets its
jobs run for JOBGATE_SHUTDOWN_GRACE_S, then hands the rest back without
using up an attempt; another worker starts them at once.

Every job waits at a gate (the `gate` kind of worker_script.py) that the
test opens only once the rollout is over, so each stopping worker still holds
its jobs when its grace ends: every one of them must be handed back, however
fast or slow the machine is.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from jobgate.services import Services
from tests.chaos.harness import (
    STARTUP_S,
    Cluster,
    events,
    open_gate,
    running_ids,
    wait_states,
    wait_until,
)
from tests.helpers import make_settings
from tests.server import Proc

# a hang guard only: every wait follows progress or a process start (STARTUP_S)
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]

CYCLES = 10
REQUEUED = "worker shutting down; requeued"


async def test_rolling_restarts_complete_every_job(
    cluster: Cluster, r: redis.Redis, tmp_path: Path
) -> None:
    cluster.extra_env["JOBGATE_LEASE_S"] = "10"  # a hand-back, never a lapse, moves a job
    for _ in range(3):
        cluster.start_chaos_worker(concurrency=8)
    ids: list[str] = []
    held_at_term: list[tuple[float, set[str]]] = []
    svc = await Services.open(make_settings(cluster.redis_url, cluster.namespace, tmp_path))
    try:

        async def submit(n: int) -> None:
            for _ in range(n):
                enq = await svc.store.enqueue("gate", f"user{len(ids) % 5}", {"gate": "rollout"})
                ids.append(enq.job_id)

        await submit(6)
        for cycle in range(CYCLES):
            await submit(3)
            victim, mine = await holding_worker(cluster, r, cycle)
            t_term = time.time()  # before the signal: events after it are the hand-back's
            victim.signal(signal.SIGTERM)
            held_at_term.append((t_term, mine))
            cluster.respawn(victim)
        # every stopped worker has exited, so has handed back what it held
        await wait_until(lambda: all(p.popen is not None and p.popen.poll() is not None
                                     for p in cluster.retired), STARTUP_S, "the stopped to exit")
        open_gate(r, cluster.namespace, "rollout")
        hashes = await wait_states(r, cluster.namespace, ids, {"completed", "failed"}, 60)
    finally:
        await svc.close()

    assert {h["state"] for h in hashes.values()} == {"completed"}
    # a hand-back does not use up an attempt: nobody was lost
    assert {h["attempt"] for h in hashes.values()} == {"1"}
    # every job a stopping worker held was handed back, and ran again (as attempt 1)
    held = sum(len(mine) for _, mine in held_at_term)
    handed_back, worst = 0, 0.0
    for t_term, mine in held_at_term:
        for j in mine:
            evs = [e for e in events(r, cluster.namespace, j) if e.ms / 1000 >= t_term]
            if any(e.type == "state" and e.data["status"] == "pending"
                   and e.data["message"] == REQUEUED for e in evs):
                handed_back += 1
            again = next(e for e in evs if e.type == "state" and e.data["status"] == "processing")
            assert again.data["attempt"] == 1
            worst = max(worst, again.ms / 1000 - t_term)
    assert held >= CYCLES and handed_back == held, (handed_back, held)
    print(f"rolling restart: {len(ids)} jobs, {CYCLES} SIGTERMs, {handed_back} hand-backs, "
          f"longest from SIGTERM to running again {worst:.2f}s")


async def holding_worker(cluster: Cluster, r: redis.Redis, cycle: int) -> tuple[Proc, set[str]]:
    """The next worker in turn that holds a running job, and the jobs it holds."""
    found: list[tuple[Proc, set[str]]] = []

    def look() -> bool:
        leases = running_ids(r, cluster.namespace)
        n = cycle % len(cluster.workers)
        for p in cluster.workers[n:] + cluster.workers[:n]:
            mine = {j for j in leases if cluster.holder(r, j) is p}
            if mine:
                found.append((p, mine))
                return True
        return False

    await wait_until(look, STARTUP_S, "a worker holding a job")
    return found[0]
