"""Claiming across partitions: what a worker knows of where work waits.

A claim script runs in one partition and may touch only the jobs it was
named (cluster rules), so each answer names the next candidates: the heads
of the partition's queues, lapsed leases, due retries, and when something
there next falls due by itself (a retry's backoff, a lease's end). A worker
keeps those per partition, hears work notices (`q`: a job was queued; `d`:
a retry will be due in so many µs; `l`: jobs were claimed, their leases end
in so many µs unless renewed) on the partitions' work channels, comes
back to a partition when it said something falls due, and peeks every
partition once per sweep (a lost notice is found then). An idle worker in
an idle system sends a few commands a minute; a partition with running jobs
is looked at about once a lease, so a dead worker's job is reclaimed about
a lease after its last heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import time
from dataclasses import dataclass
from typing import Any

from jobgate import serde
from jobgate.job import PRIORITY_ORDER

_RANK = {p.value: str(i + 1) for i, p in enumerate(PRIORITY_ORDER)}


def sweep_s(lease_s: float) -> float:
    """How often a worker looks at every partition: the backstop for a notice
    it missed (it also looks again whenever its subscription comes back)."""
    return max(6 * lease_s, 30.0)


@dataclass(frozen=True, slots=True)
class Claimed:
    """One job handed to a worker, with the lease that fences its writes."""

    job_id: str
    lease: str
    attempt: int
    kind: str
    owner: str
    payload: Any
    max_attempts: int
    timeout_s: float
    created_us: int
    suspect: bool = False  # its last worker died with it: it may be what kills workers


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    now_us: int
    reclaimed: int
    gave_up: int
    jobs: list[Claimed]


@dataclass(frozen=True, slots=True)
class PartitionClaim:
    """One claim script's answer."""

    now_us: int
    reclaimed: int
    gave_up: int
    next_at_us: int | None  # when a retry or a lease there next falls due
    jobs: list[Claimed]
    candidates: dict[str, str]  # id -> '0' (lease lapsed) | '1'..'3' (queue rank) | 'd' (due)

    @classmethod
    def parse(cls, out: list[Any]) -> PartitionClaim:
        got = int(out[4])
        end = 5 + 10 * got
        jobs = [
            Claimed(
                job_id=out[i], lease=out[i + 1], attempt=int(out[i + 2]), kind=out[i + 3],
                owner=out[i + 4], payload=serde.loads(out[i + 5]) if out[i + 5] else None,
                max_attempts=int(out[i + 6]), timeout_s=float(out[i + 7]),
                created_us=int(out[i + 8]), suspect=out[i + 9] == "1",
            )
            for i in range(5, end, 10)
        ]
        # a lapsed lease sorts first: its reclaim starts a round, so the job runs alone
        cands = {out[i + 1]: "0" if out[i] == "l" else out[i] for i in range(end, len(out), 2)}
        at = int(float(out[3])) if out[3] else None
        return cls(int(out[0]), int(out[1]), int(out[2]), at, jobs, cands)


class Claimer:
    """One worker's claims: which partitions to visit, in which order."""

    def __init__(self, claim_one: Any, partitions: int, sweep_s: float, want: int) -> None:
        """`claim_one(p, n, candidates, want)` runs the claim script in partition p."""
        self._claim_one = claim_one
        self._partitions = partitions
        self._sweep_s = sweep_s
        self._want = want
        self._cands: dict[int, dict[str, str]] = {}
        self._timers: list[tuple[float, int, str]] = []
        self._peek: set[int] = set()  # partitions to look at before claiming
        self._visit: dict[int, float] = {}  # partition -> when it said to come back
        self._next_sweep = 0.0  # the first claim looks everywhere
        self._offset = random.randrange(partitions)
        self._wake = asyncio.Event()

    # -- what the work channels say ------------------------------------------
    def notice(self, p: int, message: str) -> None:
        kind, _, rest = message.partition(" ")
        arg, _, job_id = rest.partition(" ")
        if kind == "q" and job_id:
            self._cands.setdefault(p, {})[job_id] = _RANK.get(arg, "3")
        elif kind == "d" and job_id:
            self._at(float(arg) / 1e6, p, job_id)
        elif kind == "l" and arg:  # jobs claimed there: their leases end then, unless renewed
            self._at(float(arg) / 1e6 + 0.05, p, "")
        else:
            return
        self._wake.set()

    def reset(self) -> None:
        """Notices may have been missed: look everywhere now."""
        self._next_sweep = 0.0
        self._wake.set()

    def _at(self, delay_s: float, p: int, job_id: str) -> None:
        when = time.monotonic() + max(delay_s, 0.0)
        if not job_id:  # a visit to the partition: the earliest one asked for is enough
            if self._visit.get(p, float("inf")) <= when:
                return
            self._visit[p] = when
        heapq.heappush(self._timers, (when, p, job_id))

    # -- claiming -------------------------------------------------------------
    def has_work(self) -> bool:
        now = time.monotonic()
        return (
            any(self._cands.values())
            or bool(self._peek)
            or now >= self._next_sweep
            or bool(self._timers and self._timers[0][0] <= now)
        )

    async def wait(self, timeout_s: float) -> None:
        """Until a notice, a due timer or the next sweep (at most `timeout_s`)."""
        self._wake.clear()
        if self.has_work():
            return
        now = time.monotonic()
        until = min(timeout_s, self._next_sweep - now)
        if self._timers:
            until = min(until, self._timers[0][0] - now)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(until, 0.0)):
                await self._wake.wait()

    async def claim(self, n: int, already: int = 0) -> ClaimBatch:
        """Up to n jobs, from the partitions known to have work, best first;
        `already`: jobs the caller's batch holds from an earlier call."""
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            when, p, job_id = heapq.heappop(self._timers)
            if job_id:
                self._cands.setdefault(p, {})[job_id] = "d"
            elif self._visit.get(p) == when:  # else a later answer moved it
                del self._visit[p]
                self._peek.add(p)
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_s
            self._peek.update(range(self._partitions))
        idle = sorted(p for p in self._peek if not self._cands.get(p))
        self._peek.clear()
        answers = list(
            await asyncio.gather(*(self._claim_one(p, 0, [], self._want) for p in idle))
        )
        for p, a in zip(idle, answers, strict=True):
            self._learn(p, a)
        jobs: list[Claimed] = []
        for p in self._order():
            if len(jobs) >= n:
                break
            a = await self._claim_one(p, n - len(jobs), list(self._cands[p]), max(n, self._want),
                                      already + len(jobs))
            self._learn(p, a)
            answers.append(a)
            jobs += a.jobs
            if any(j.suspect for j in a.jobs):
                break  # it runs in a batch of its own
        return ClaimBatch(
            max((a.now_us for a in answers), default=0),
            sum(a.reclaimed for a in answers), sum(a.gave_up for a in answers), jobs,
        )

    def _learn(self, p: int, a: PartitionClaim) -> None:
        self._cands[p] = a.candidates
        if a.next_at_us is not None:
            self._at((a.next_at_us - a.now_us) / 1e6 + 0.001, p, "")

    def _order(self) -> list[int]:
        """Partitions with candidates: best queued priority first, then a rotating
        start, so that workers spread over the partitions instead of crowding one."""
        self._offset = (self._offset + 1) % self._partitions
        ps = [p for p, c in self._cands.items() if c]
        return sorted(
            ps, key=lambda p: (min(self._cands[p].values()), (p - self._offset) % self._partitions)
        )
