"""Scenario 8: many users, many jobs, two API processes, two workers, one killed regularly.

Every user submits its jobs (each with its own Idempotency-Key, retried on a
cut connection or a 503) through both API processes in turn, while a worker
is SIGKILLed and restarted each time another fixed share of the work is done
(a submit acknowledged or a job finished): the kills follow the work, not the
clock, so a slow machine sees as many as a fast one. At the end the jobs are
counted three ways: the ids the clients were given, the owners' indexes in
Valkey, and each user's `GET /jobs` listing; every job must be `completed`
exactly once, with its own request's text in its result.

The default run is small enough for CI; the full size (10,000 jobs) is marked
slow: `pytest -m slow tests/chaos/test_load.py`. The waits follow progress:
a run fails when the jobs stop finishing, not when it takes longer.
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
from jobgate.store import eventlog
from jobgate.store.keys import Keys
from tests.chaos.harness import PREFIX, Cluster, RawHTTP, report, request_body, wait_states

pytestmark = pytest.mark.chaos

USERS = 400
TERMINAL = {"completed", "failed", "cancelled"}


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

    def progress(self, r: redis.Redis) -> int:
        """Units of work done: submits acknowledged plus jobs finished."""
        pipe, keys = r.pipeline(transaction=False), Keys(self.cluster.namespace)
        for j in self.ids.values():
            pipe.hget(keys.job(j), "state")
        finished = sum(1 for state in pipe.execute() if state in TERMINAL)
        return len(self.ids) + finished

    async def kill_workers(self, r: redis.Redis, every: int, done: asyncio.Event) -> None:
        """Kill a worker each time another `every` units of work are done."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)
                return
            if self.progress(r) < every * (self.kills + 1):
                continue
            victim = self.cluster.workers[self.kills % len(self.cluster.workers)]
            victim.kill()
            self.cluster.respawn(victim)
            self.kills += 1


async def run_load(cluster: Cluster, r: redis.Redis, total: int, kill_every: int) -> None:
    # a job may be running on the victim of several kills in a row: no attempt limit
    # may turn that into a failure here (giving up is the poison test's subject)
    cluster.extra_env.update({"JOBGATE_SIM_STEP_S": "0.005", "JOBGATE_LOG_LEVEL": "WARNING",
                              "JOBGATE_MAX_ATTEMPTS": "100"})
    cluster.start_api()
    cluster.start_api()
    cluster.start_worker(concurrency=64)
    cluster.start_worker(concurrency=64)
    load = Load(cluster, total, [RawHTTP("127.0.0.1", p, size=16) for p in cluster.ports],
                {u: cluster.token(f"load-{u}") for u in range(USERS)})
    per_user = total // USERS
    done = asyncio.Event()
    t0 = time.monotonic()
    killer = asyncio.create_task(load.kill_workers(r, kill_every, done))
    try:
        await asyncio.gather(*(load.submit(u, k) for k in range(per_user) for u in range(USERS)))
        submitted_s = time.monotonic() - t0
        hashes = await wait_states(r, cluster.namespace, load.ids.values(), TERMINAL, 60)
        finished_s = time.monotonic() - t0
        done.set()
        await killer
        listed = await count_through_api(load)
    finally:
        done.set()
        await killer
        for c in load.clients:
            await c.aclose()

    ids, keys = load.ids, Keys(cluster.namespace)
    # 1. what the clients were told: one distinct job per (user, key)
    assert len(ids) == per_user * USERS and len(set(ids.values())) == len(ids)
    # 2. what Valkey holds: the owners' indexes count exactly those jobs
    pipe = r.pipeline(transaction=False)
    for u in range(USERS):
        pipe.zrange(keys.owner_jobs(f"load-{u}"), 0, -1)
    assert sorted(j for js in pipe.execute() for j in js) == sorted(ids.values())
    # 3. every job completed, once, with its own request's text in its result
    states = Counter(h["state"] for h in hashes.values())
    errors = Counter(h.get("error", "")[:100] for h in hashes.values() if h["state"] != "completed")
    assert states == {"completed": len(ids)}, (states, errors)
    for (u, k), j in ids.items():
        assert f"load job {u}-{k}" in serde.loads(hashes[j]["result"])["response"]
    pipe = r.pipeline(transaction=False)
    for j in ids.values():  # the stream, then the record's compacted log (as the store reads)
        pipe.xrange(keys.events(j))
        pipe.hmget(keys.job(j), eventlog.FIELDS)
    logs = pipe.execute()
    terminal = Counter(
        sum(1 for _, etype, data in eventlog.read(stream, chunks, None, 10**6)
            if etype == "state" and '"status":"completed"' in data)
        for stream, chunks in zip(logs[::2], logs[1::2], strict=True)
    )
    assert terminal == {1: len(ids)}, terminal
    # 4. what the users see through the API: all their jobs, completed
    assert listed == {"completed": len(ids)}, listed
    attempts = Counter(int(h["attempt"]) for h in hashes.values())
    report("load", jobs=len(ids), users=USERS, api_processes=2, workers=2,
           workers_killed=load.kills, kill_every_units=kill_every, lost=0, duplicated=0,
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


@pytest.mark.timeout(900)  # a hang guard: the waits follow the work's progress
async def test_load_with_worker_kills(cluster: Cluster, r: redis.Redis) -> None:
    await run_load(cluster, r, total=2_000, kill_every=500)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_load_full_size(cluster: Cluster, r: redis.Redis) -> None:
    await run_load(cluster, r, total=10_000, kill_every=2_000)
