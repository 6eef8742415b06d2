"""A primary SIGKILLed while jobs are submitted and running, on a Valkey
Cluster and on Sentinel: every acknowledged submit completes exactly once,
the API answers 503 with a JSON body (never 500) while the replica takes
over, and submits succeed again by themselves. The figures: from the kill to
the first successful submit on the killed shard.

Real processes throughout: Valkey nodes and sentinels, `jobgate api`,
two `jobgate worker`s; the test only submits over HTTP and reads Valkey.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis.cluster import RedisCluster

from jobgate import serde
from jobgate.store import eventlog
from jobgate.store.keys import Keys
from tests.chaos.harness import PREFIX, Cluster, report, request_body
from tests.valkey_cluster import LocalCluster, Node, SentinelGroup

pytestmark = pytest.mark.chaos

USERS = [f"user-{i}" for i in range(12)]
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class Load:
    """Submitters that retry a 503 with the same Idempotency-Key, and what they saw."""

    stack: Cluster
    acked: dict[str, str] = field(default_factory=dict)  # idempotency key -> job id
    codes: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # answers that break the contract
    killed_at: float | None = None
    first_ok: dict[str, float] = field(default_factory=dict)  # user -> s after the kill
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def _check(self, r: httpx.Response, what: str) -> None:
        self.codes[r.status_code] += 1
        if r.status_code >= 500 and r.status_code != 503:
            self.wrong.append(f"{what}: {r.status_code} {r.text[:200]}")
        if r.status_code == 503:
            body = r.json()  # JSON, not a bare page
            if body.get("code") != "store_unavailable" or "retry-after" not in r.headers:
                self.wrong.append(f"{what}: 503 without its JSON or Retry-After: {r.text[:200]}")

    async def submitter(self, client: httpx.AsyncClient, user: str) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"{user}-{n}"
            while True:  # the same logical submit until it is acknowledged
                sent = time.monotonic()
                try:
                    r = await client.post(f"{PREFIX}/submit", json=request_body(steps=2),
                                          headers={**self.stack.headers(user),
                                                   "Idempotency-Key": key})
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                self._check(r, "submit")
                if r.status_code == 202:
                    self.acked[key] = r.json()["job_id"]
                    after = self.killed_at is not None and sent > self.killed_at
                    if after and user not in self.first_ok:  # asked after the kill
                        self.first_ok[user] = time.monotonic() - (self.killed_at or 0.0)
                    break
                await asyncio.sleep(0.2)
            n += 1
            await asyncio.sleep(0.05)

    async def reader(self, client: httpx.AsyncClient) -> None:
        """Status reads of acknowledged jobs all along: 503 at worst, never 500."""
        while not self.stop.is_set():
            for key, job_id in list(self.acked.items())[-5:]:
                user = key.rsplit("-", 1)[0]
                try:
                    r = await client.get(f"{PREFIX}/jobs/{job_id}/status",
                                         headers=self.stack.headers(user))
                except httpx.TransportError:
                    continue
                self._check(r, "status")
            await asyncio.sleep(0.1)


async def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return time.monotonic() - t0


async def _run(stack: Cluster, read: Any, kill: Callable[[], Node],
               victims: Callable[[Node], list[str]], scenario: str) -> None:
    """Submit and run jobs, kill a primary mid-way, recover, check every job."""
    stack.start_api()
    stack.start_worker(concurrency=8)
    stack.start_worker(concurrency=8)
    load = Load(stack)
    async with httpx.AsyncClient(base_url=stack.url, timeout=15) as client:
        tasks = [asyncio.create_task(load.submitter(client, u)) for u in USERS]
        tasks.append(asyncio.create_task(load.reader(client)))
        await _until(lambda: len(load.acked) >= 40, 60, "submits before the kill")
        await _until(lambda: _running(read, stack.namespace) > 0, 30, "a job running")
        acked_before = len(load.acked)
        load.killed_at = time.monotonic()  # just before the SIGKILL
        node = kill()
        hit = victims(node)  # the users whose partition the dead primary held
        await _until(lambda: all(u in load.first_ok for u in USERS), 60,
                     "a successful submit from every user after the kill")
        await asyncio.sleep(2)
        load.stop.set()
        await asyncio.gather(*tasks)
    assert load.wrong == [], load.wrong[:5]
    ids = list(load.acked.values())
    states = await _settled(read, stack.namespace, ids)
    assert Counter(states.values()) == {"completed": len(ids)}, Counter(states.values())
    ends = {j: _terminal_events(read, stack.namespace, j) for j in ids}
    assert {j: n for j, n in ends.items() if n != 1} == {}  # each ended exactly once
    report(scenario, acked=len(ids), acked_before_kill=acked_before,
           answers=dict(sorted(load.codes.items())), killed_users=len(hit),
           kill_to_first_submit_on_killed_shard_s=round(min(load.first_ok[u] for u in hit), 2),
           kill_to_every_user_submitting_s=round(max(load.first_ok.values()), 2))


def _running(read: Any, ns: str) -> int:
    keys = Keys(ns)
    return sum(int(read.zcard(keys.leases(p))) for p in range(keys.partitions))


async def _settled(read: Any, ns: str, ids: list[str]) -> dict[str, str]:
    keys, deadline = Keys(ns), time.monotonic() + 120
    while True:
        states = {j: read.hget(keys.job(j), "state") for j in ids}
        if all(s in TERMINAL for s in states.values()) or time.monotonic() > deadline:
            return {j: str(s) for j, s in states.items()}
        await asyncio.sleep(0.5)


def _terminal_events(read: Any, ns: str, job_id: str) -> int:
    keys = Keys(ns)
    stream = read.xrange(keys.events(job_id))  # then the record's compacted log, as the store
    log = eventlog.read(stream, read.hmget(keys.job(job_id), eventlog.FIELDS), None, 10**6)
    return sum(1 for _, etype, data in log
               if etype == "state" and serde.loads(data)["status"] in TERMINAL)


# -- Valkey Cluster ------------------------------------------------------------
@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    c = LocalCluster(tmp_path / "vc").start()
    yield c
    c.stop()


async def test_cluster_primary_killed_mid_load(own_cluster: LocalCluster, tmp_path: Path) -> None:
    ns = f"fo-{uuid.uuid4().hex[:8]}"
    stack = Cluster(own_cluster.url, ns, tmp_path / "stack", extra_env={
        "JOBGATE_REDIS_MODE": "cluster", "JOBGATE_SIM_STEP_S": "0.1",
        "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "100000", "JOBGATE_LOG_LEVEL": "INFO"})
    first = own_cluster.nodes[0]
    read = RedisCluster(host="127.0.0.1", port=first.port, decode_responses=True)
    keys = Keys(ns)

    def owner_port(user: str) -> int:
        """The port of the primary holding the user's partition (as the map was)."""
        return int(read.get_node_from_key(keys.tags[keys.partition_of_owner(user)]).port)

    def kill() -> Node:
        node = own_cluster.node(owner_port(USERS[0]))
        node.kill()
        return node

    try:
        await _run(stack, read, kill,
                   lambda node: [u for u in USERS if owner_port(u) == node.port]
                   or [USERS[0]], "failover_cluster")
    finally:
        stack.stop()
        read.close()


# -- Sentinel -------------------------------------------------------------------
@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    g = SentinelGroup(tmp_path / "sentinel").start()
    yield g
    g.stop()


async def test_sentinel_primary_killed_mid_load(sentinels: SentinelGroup, tmp_path: Path) -> None:
    ns = f"fo-{uuid.uuid4().hex[:8]}"
    stack = Cluster(sentinels.url, ns, tmp_path / "stack", extra_env={
        "JOBGATE_REDIS_MODE": "sentinel", "JOBGATE_REDIS_SENTINEL_MASTER": sentinels.name,
        "JOBGATE_SIM_STEP_S": "0.1", "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "100000",
        "JOBGATE_LOG_LEVEL": "INFO"})
    reads: dict[int, redis.Redis] = {}

    class Primary:
        """Reads from whichever node is the primary now (the test's own reads)."""

        def __getattr__(self, name: str) -> Any:
            port = sentinels.primary().port
            if port not in reads:
                reads[port] = redis.Redis(port=port, decode_responses=True)
            return getattr(reads[port], name)

    def kill() -> Node:
        node = sentinels.primary()
        node.kill()
        return node

    try:
        await _run(stack, Primary(), kill, lambda node: USERS, "failover_sentinel")
    finally:
        stack.stop()
        for c in reads.values():
            c.close()
