"""Scenario 8: many users, many jobs, two API processes, two workers, one killed regularly.

Every user submits its jobs (each with its own Idempotency-Key, retried on a
cut connection or a 503) through both API processes in turn, while a worker
is SIGKILLed and restarted at a fixed interval. At the end the jobs are
counted three ways: the ids the clients were given, the owners' indexes in
Valkey, and each user's `GET /jobs` listing; every job must be `completed`
exactly once, with its own request's text in its result.

The default run is small enough for CI; the full size (10,000 jobs, a kill
every 20 s) is marked slow: `pytest -m slow tests/chaos/test_load.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import redis

from jobgate import serde
from tests.chaos.harness import PREFIX, Cluster, RawHTTP, report, request_body, wait_states

pytestmark = pytest.mark.chaos

USERS = 400


@dataclass
class Load:
    cluster: Cluster
    total: int
    clients: list[RawHTTP]
    tokens: dict[int, str]
    ids: dict[tuple[int, int], str] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    kills: int = 0

    def __post_init__(self) -> None:
        self._rr = itertools.count()

    async def submit(self, user: int, k: int) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[user]}",
                   "Idempotency-Key": f"{user}-{k}"}
        body = request_body(steps=1, query=f"load job {user}-{k}")
        while True:
            c = self.clients[next(self._rr) % len(self.clients)]
            try:
                status, _, answer = await c.request("POST", f"{PREFIX}/submit", headers, body)
            except ConnectionError:
                self.retries["connection"] += 1
                continue
            if status == 202:
                self.ids[(user, k)] = answer["job_id"]
                return
            self.retries[str(status)] += 1
            assert status in (429, 503), answer
            await asyncio.sleep(0.1)

    async def kill_workers(self, every_s: float, done: asyncio.Event) -> None:
        """Kill a worker every `every_s`, and also as the submits pass a third and
        two thirds of the total, so even a fast run sees two kills mid-load."""
        last = time.monotonic() - every_s + min(every_s, 2.0)  # the first kill early
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.05)
                return
            due_by_time = time.monotonic() - last >= every_s
            due_by_progress = self.kills < 2 and len(self.ids) >= self.total * (self.kills + 1) / 3
            if not (due_by_time or due_by_progress):
                continue
            victim = self.cluster.workers[self.kills % len(self.cluster.workers)]
            victim.kill()
            self.cluster.respawn(victim)
            self.kills += 1
            last = time.monotonic()


async def run_load(cluster: Cluster, r: redis.Redis, total: int, kill_every_s: float) -> None:
    cluster.extra_env.update({"JOBGATE_SIM_STEP_S": "0.005", "JOBGATE_LOG_LEVEL": "WARNING"})
    cluster.start_api()
    cluster.start_api()
    cluster.start_worker(concurrency=64)
    cluster.start_worker(concurrency=64)
    load = Load(cluster, total, [RawHTTP("127.0.0.1", p, size=16) for p in cluster.ports],
                {u: cluster.token(f"load-{u}") for u in range(USERS)})
    per_user = total // USERS
    done = asyncio.Event()
    t0 = time.monotonic()
    killer = asyncio.create_task(load.kill_workers(kill_every_s, done))
    try:
        await asyncio.gather(*(load.submit(u, k) for k in range(per_user) for u in range(USERS)))
        submitted_s = time.monotonic() - t0
        hashes = await wait_states(r, cluster.namespace, load.ids.values(),
                                   {"completed", "failed", "cancelled"}, 90)
        finished_s = time.monotonic() - t0
        done.set()
        await killer
        listed = await count_through_api(load)
    finally:
        done.set()
        await killer
        for c in load.clients:
            await c.aclose()

    ids = load.ids
    # 1. what the clients were told: one distinct job per (user, key)
    assert len(ids) == per_user * USERS and len(set(ids.values())) == len(ids)
    # 2. what Valkey holds: the owners' indexes count exactly those jobs
    pipe = r.pipeline(transaction=False)
    for u in range(USERS):
        pipe.zrange(f"{cluster.namespace}:owner:load-{u}", 0, -1)
    assert sorted(j for js in pipe.execute() for j in js) == sorted(ids.values())
    # 3. every job completed, once, with its own request's text in its result
    states = Counter(h["state"] for h in hashes.values())
    errors = Counter(h.get("error", "")[:100] for h in hashes.values() if h["state"] != "completed")
    assert states == {"completed": len(ids)}, (states, errors)
    for (u, k), j in ids.items():
        assert f"load job {u}-{k}" in serde.loads(hashes[j]["result"])["response"]
    pipe = r.pipeline(transaction=False)
    for j in ids.values():
        pipe.xrange(f"{cluster.namespace}:ev:{{{j}}}")
    terminal = Counter(
        sum(1 for _, f in evs if f["type"] == "state" and '"status":"completed"' in f["data"])
        for evs in pipe.execute()
    )
    assert terminal == {1: len(ids)}, terminal
    # 4. what the users see through the API: all their jobs, completed
    assert listed == {"completed": len(ids)}, listed
    attempts = Counter(int(h["attempt"]) for h in hashes.values())
    report("load", jobs=len(ids), users=USERS, api_processes=2, workers=2,
           workers_killed=load.kills, kill_every_s=kill_every_s, lost=0, duplicated=0,
           attempts=dict(sorted(attempts.items())), submit_retries=dict(load.retries),
           submitted_in_s=round(submitted_s, 1), all_done_in_s=round(finished_s, 1),
           jobs_per_s=round(len(ids) / finished_s, 1))
    assert load.kills >= 2, "the run ended before two workers were killed"


async def count_through_api(load: Load) -> Counter[str]:
    listed: Counter[str] = Counter()
    for u in range(USERS):
        cursor = ""
        while True:
            status, _, body = await load.clients[u % 2].request(
                "GET", f"{PREFIX}/jobs?limit=100{cursor}",
                {"Authorization": f"Bearer {load.tokens[u]}"})
            assert status == 200, body
            listed.update(j["status"] for j in body["jobs"])
            if not body["next"]:
                break
            cursor = f"&cursor={body['next']}"
    return listed


async def test_load_with_worker_kills(cluster: Cluster, r: redis.Redis) -> None:
    await run_load(cluster, r, total=2_000, kill_every_s=3.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_load_full_size(cluster: Cluster, r: redis.Redis) -> None:
    await run_load(cluster, r, total=10_000, kill_every_s=20.0)
