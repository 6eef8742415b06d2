"""The scripts and the rules in job.py agree: random sequences of submit,
claim, heartbeat, report, finish, fail, cancel and lease expiry run against
a real Valkey and against a model built from job.py alone, step by step.

The model is the bookkeeping (queues, leases, retries) in this file; every
decision in it (which transitions, when to give up, the claim order, every
message) is job.py's. One partition, so the claim order is global.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobgate.errors import JobNotFound, LeaseLost, TooManyActiveJobs
from jobgate.job import (
    MESSAGES,
    PRIORITY_ORDER,
    Ending,
    Failure,
    JobState,
    Priority,
    can_transition,
    end_of_attempt,
    lost_worker_end,
    should_retry,
)
from jobgate.services import Services
from jobgate.store.jobs import JobStore, Outcome
from tests.helpers import make_settings
from tests.valkey_cluster import Topology

CAP, MAX_ATTEMPTS = 3, 2
OWNERS = ["ann", "bob"]


@dataclass
class MJob:
    owner: str
    priority: Priority
    state: JobState = JobState.PENDING
    attempt: int = 0
    message: str = MESSAGES["queued"]
    lease: str | None = None
    expired_at: int | None = None  # set by the test's lease expiry (its order)
    suspect: bool = False
    error_code: str | None = None
    statuses: list[str] = field(default_factory=lambda: ["pending"])


@dataclass
class Model:
    jobs: dict[str, MJob] = field(default_factory=dict)
    queues: dict[Priority, list[str]] = field(default_factory=lambda: {p: [] for p in Priority})
    delayed: list[str] = field(default_factory=list)  # due now (zero backoff), in order
    leases: dict[str, str] = field(default_factory=dict)  # lease -> id, every one handed out

    def move(self, job_id: str, to: JobState) -> MJob:
        j = self.jobs[job_id]
        assert can_transition(j.state, to), (j.state, to)
        j.state = to
        j.statuses.append(to.value)
        if to is not JobState.PROCESSING:
            j.lease, j.expired_at = None, None
        return j

    def active(self, owner: str) -> int:
        return sum(1 for j in self.jobs.values()
                   if j.owner == owner and j.state in (JobState.PENDING, JobState.PROCESSING))

    def holds(self, job_id: str, lease: str) -> bool:
        j = self.jobs[job_id]
        return j.state is JobState.PROCESSING and j.lease == lease

    def reclaim_and_requeue(self) -> None:
        """What a claim does before claiming: lapsed leases, then due retries."""
        lapsed = sorted((j.expired_at, i) for i, j in self.jobs.items()
                        if j.expired_at is not None and j.state is JobState.PROCESSING)
        for _, job_id in lapsed:
            j = self.jobs[job_id]
            state, message, error = lost_worker_end(j.attempt, MAX_ATTEMPTS)
            self.move(job_id, state)
            j.message = message
            if state is JobState.PENDING:
                j.suspect = True
                self.queues[j.priority].insert(0, job_id)
            else:
                j.error_code = error["code"] if error else None
        for job_id in self.delayed:
            self.queues[self.jobs[job_id].priority].append(job_id)
        self.delayed = []

    def claim(self, n: int) -> list[tuple[str, int]]:
        self.reclaim_and_requeue()
        got: list[tuple[str, int]] = []
        for prio in PRIORITY_ORDER:
            q = self.queues[prio]
            while q and len(got) < n:
                j = self.jobs[q[0]]
                if j.state is JobState.PENDING and j.suspect and got:
                    return got
                job_id = q.pop(0)
                if j.state is not JobState.PENDING:
                    continue  # a stale id
                self.move(job_id, JobState.PROCESSING)
                j.attempt += 1
                j.message = MESSAGES["running"] % (j.attempt, MAX_ATTEMPTS)
                got.append((job_id, j.attempt))
                if j.suspect:
                    return got
            if len(got) >= n:
                return got
        return got


@dataclass
class Run:
    store: JobStore
    services: Services
    model: Model = field(default_factory=Model)
    held: dict[str, str] = field(default_factory=dict)  # id -> the newest lease seen
    clock: int = 0

    def pick(self, i: int) -> str | None:
        ids = list(self.model.jobs)
        return ids[i % len(ids)] if ids else None

    async def step(self, op: tuple[Any, ...]) -> None:
        await getattr(self, "op_" + op[0])(*op[1:])

    async def op_submit(self, owner: str, prio: Priority) -> None:
        m = self.model
        try:
            enq = await self.store.enqueue("k", owner, None, priority=prio,
                                           max_attempts=MAX_ATTEMPTS)
        except TooManyActiveJobs:
            assert m.active(owner) >= CAP
            return
        assert m.active(owner) < CAP
        m.jobs[enq.job_id] = MJob(owner, prio)
        m.queues[prio].append(enq.job_id)

    async def op_claim(self, n: int) -> None:
        s, p = self.store, 0
        peek = await s.claim_partition("w", p, 0, [], 100)
        real = await s.claim_partition("w", p, n, list(peek.candidates), 100)
        expected = self.model.claim(n)
        assert [(c.job_id, c.attempt) for c in real.jobs] == expected
        for c in real.jobs:
            self.model.jobs[c.job_id].lease = c.lease
            self.model.leases[c.lease] = c.job_id
            self.held[c.job_id] = c.lease

    def lease_of(self, i: int, stale: bool) -> tuple[str, str] | None:
        """A job and a lease for it: the newest one seen, or (stale) an older one."""
        job_id = self.pick(i)
        if job_id is None:
            return None
        leases = [lease for lease, j in self.model.leases.items() if j == job_id]
        if not leases:
            return None
        return job_id, leases[0] if stale else leases[-1]

    async def op_heartbeat(self, i: int, stale: bool) -> None:
        picked = self.lease_of(i, stale)
        if picked is None:
            return
        job_id, lease = picked
        lost = await self.store.heartbeat({job_id: lease})
        holds = self.model.holds(job_id, lease)
        assert lost == ([] if holds else [job_id])
        if holds:
            self.model.jobs[job_id].expired_at = None  # renewed

    async def op_report(self, i: int, stale: bool) -> None:
        picked = self.lease_of(i, stale)
        if picked is None:
            return
        job_id, lease = picked
        try:
            await self.store.progress(job_id, lease, 0.5, "half", None)
            ok = True
        except LeaseLost:
            ok = False
        assert ok == self.model.holds(job_id, lease)
        if ok:
            self.model.jobs[job_id].message = "half"

    async def op_finish(self, i: int, stale: bool, failure: Failure | None) -> None:
        picked = self.lease_of(i, stale)
        if picked is None:
            return
        job_id, lease = picked
        j = self.model.jobs[job_id]
        end = end_of_attempt(failure, attempt=j.attempt, max_attempts=MAX_ATTEMPTS,
                             code="c", detail="d", retry_delay_s=0.0)
        body = '"r"' if end.error is None else '{"code": "c", "message": "d"}'
        (ok,) = await self.store.finish_many(
            [Outcome(job_id, lease, end.ending, body, end.message, end.retry_delay_s)])
        assert ok == self.model.holds(job_id, lease)
        if not ok:
            return
        self.model.move(job_id, end.ending.state)
        j.message = end.message
        if end.ending is Ending.RETRY:
            assert should_retry(j.attempt, MAX_ATTEMPTS)
            self.model.delayed.append(job_id)
        elif end.ending is Ending.FAIL:
            j.error_code = "c"

    async def op_cancel(self, i: int, as_owner: bool) -> None:
        job_id = self.pick(i)
        if job_id is None:
            return
        j = self.model.jobs[job_id]
        owner = j.owner if as_owner else "mallory"
        try:
            found = await self.store.cancel(job_id, owner)
        except JobNotFound:
            assert not as_owner
            return
        assert as_owner and found == j.state.value
        if can_transition(j.state, JobState.CANCELLED):
            self.model.move(job_id, JobState.CANCELLED).message = MESSAGES["cancelled"]

    async def op_expire(self, i: int) -> None:
        """The holder stops renewing and its lease lapses (rewritten into the past)."""
        job_id = self.pick(i)
        if job_id is None or self.model.jobs[job_id].state is not JobState.PROCESSING:
            return
        self.clock += 1
        r, k = self.services.redis, self.store.keys
        await r.hset(k.job(job_id), "lease_until", self.clock)
        await r.zadd(k.leases(0), {job_id: self.clock})
        self.model.jobs[job_id].expired_at = self.clock

    async def check(self) -> None:
        for job_id, m in self.model.jobs.items():
            job = await self.store.get(job_id)
            assert job is not None
            seen = (job.state, job.attempt, job.message,
                    job.error["code"] if job.error else None)
            assert seen == (m.state, m.attempt, m.message, m.error_code), job_id
            events = await self.store.events_after(job_id, None)
            assert [e.data["status"] for e in events if e.type == "state"] == m.statuses
        r, k = self.services.redis, self.store.keys
        for prio in Priority:
            assert await r.lrange(k.queue(0, prio), 0, -1) == self.model.queues[prio]


OPS = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(OWNERS), st.sampled_from(list(Priority))),
    st.tuples(st.just("claim"), st.integers(1, 3)),
    st.tuples(st.just("heartbeat"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("report"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("finish"), st.integers(0, 9), st.booleans(),
              st.sampled_from([None, Failure.RETRYABLE, Failure.PERMANENT])),
    st.tuples(st.just("cancel"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("expire"), st.integers(0, 9)),
)


async def _play(topology: Topology, tmp: Path, ops: list[tuple[Any, ...]]) -> None:
    s = make_settings(topology.url, f"m-{uuid.uuid4().hex[:10]}", tmp, partitions=1,
                      redis_mode=topology.mode, max_attempts=MAX_ATTEMPTS,
                      max_active_jobs_per_user=CAP, lease_s=30.0)
    svc = await Services.open(s)
    try:
        run = Run(svc.store, svc)
        for op in ops:
            await run.step(op)
            await run.check()
    finally:
        await svc.close()


N, H, L = Priority.NORMAL, Priority.HIGH, Priority.LOW


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=40))
# the paths a random draw reaches only now and then, always tried:
@example(ops=[("submit", "ann", N), ("claim", 1), ("expire", 0), ("claim", 1), ("expire", 0),
              ("claim", 1)])  # lost twice: gives up with worker_lost
@example(ops=[("submit", "ann", N), ("claim", 1), ("finish", 0, False, Failure.RETRYABLE),
              ("claim", 1), ("finish", 0, False, Failure.RETRYABLE)])  # retried, then failed
@example(ops=[("submit", "ann", L), ("submit", "bob", H), ("submit", "ann", N), ("claim", 3)])
@example(ops=[("submit", "ann", N), ("submit", "bob", N), ("claim", 1), ("expire", 0),
              ("claim", 2), ("claim", 2)])  # a reclaimed job runs alone
@example(ops=[("submit", "ann", N)] * 4 + [("cancel", 1, True), ("claim", 3),
                                          ("cancel", 2, False), ("heartbeat", 0, True)])
def test_the_scripts_follow_the_rules(
    topology: Topology, tmp_path: Path, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(_play(topology, tmp_path, ops))
