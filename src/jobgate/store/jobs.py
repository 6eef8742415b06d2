"""JobStore: the only code that talks to Redis about jobs.

Every state change is one script in one slot (the job's partition), sent
through the store's one access path (access.py); reads go the same way.
Decisions about jobs live in `jobgate.job`, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jobgate import serde
from jobgate.errors import JobNotFound, LeaseLost, TooManyActiveJobs
from jobgate.job import MESSAGES, Ending, Priority, new_job_id
from jobgate.settings import Settings
from jobgate.store.access import Access, Call
from jobgate.store.claims import ClaimBatch, Claimed, Claimer, PartitionClaim, sweep_s
from jobgate.store.keys import Keys
from jobgate.store.lane import Arg
from jobgate.store.operators import OperatorReads
from jobgate.store.reads import FIRST_EVENT, RawEvent, Reads, is_event_id
from jobgate.store.replies import ok
from jobgate.store.scripts import Scripts
from jobgate.store.subscriber import Subscriber

_STALE_ID = 10  # enqueue.lua's ARGV[11]


@dataclass(frozen=True, slots=True)
class Enqueued:
    job_id: str
    created_us: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended, as the worker reports it (job.end_of_attempt decides)."""

    job_id: str
    lease: str
    ending: Ending
    body_json: str = "null"  # the result, or the error {"code", "message"}, as JSON
    message: str = ""
    retry_delay_s: float = 0.0


class JobStore(Reads, OperatorReads):
    def __init__(self, access: Access, keys: Keys, settings: Settings) -> None:
        self.access = access
        self.keys = keys
        self.settings = settings
        self.scripts = Scripts.load()
        self._partition_keys = [self._header(p) for p in range(keys.partitions)]
        # what every submit spells again: the partition's keys, the owner's (a few µs a submit)
        self._enqueue_keys = [
            {prio: (keys.active(p), keys.queue(p, prio), keys.work(p), keys.notify(p), prio.value)
             for prio in Priority}
            for p in range(keys.partitions)
        ]
        self._owner_keys = lru_cache(maxsize=4096)(
            lambda owner: (keys.partition_of_owner(owner), keys.owner_jobs(owner),
                           keys.active_prefix(owner)))
        self._feed: Subscriber | None = None
        self._claimers: set[Claimer] = set()

    def _header(self, p: int) -> list[str]:
        """The partition's ten keys, in the order _partition.lua reads them."""
        k = self.keys
        return [k.leases(p), k.delayed(p), k.dead(p), k.active(p), k.notify(p), k.work(p),
                k.outbox(p), *k.queues(p)]

    # -- producers -------------------------------------------------------
    async def enqueue(
        self,
        kind: str,
        owner: str,
        payload: Any,
        *,
        priority: Priority = Priority.NORMAL,
        idempotency_key: str | None = None,
        estimate_s: float | None = None,
        timeout_s: float | None = None,
        max_attempts: int | None = None,
    ) -> Enqueued:
        s, k = self.settings, self.keys
        p, owner_key, active_prefix = self._owner_keys(owner)
        job_id = new_job_id(p)
        active, queue, work, notify, prio = self._enqueue_keys[p][priority]
        keys = [k.job(job_id), owner_key, active, queue, work, notify]
        if idempotency_key:
            keys.append(k.idempotency(owner, idempotency_key))
        args: list[Arg] = [
            s.max_active_jobs_per_user, s.idempotency_ttl_s, job_id, kind, owner,
            prio, serde.dumps(payload), max_attempts or s.max_attempts,
            timeout_s or s.job_timeout_s, "" if estimate_s is None else round(estimate_s, 1), "",
            active_prefix,
        ]
        call = Call(k.slot(p), self.scripts.enqueue, keys, args)
        out = await self.access.run(call, durable=True)
        if not isinstance(out, int) and out[0] == "dup" and out[1] != job_id:
            job = await self.get(out[1])  # an idempotency key's job
            if job is not None:
                return Enqueued(out[1], job.created_us, duplicate=True)
            args[_STALE_ID] = out[1]  # expired since: the key is ours to take over
            out = await self.access.run(call, durable=True)
        if isinstance(out, int):  # the new job's creation time
            return Enqueued(job_id, out, duplicate=False)
        status, value = out
        if status == "full":
            raise TooManyActiveJobs(
                f"at most {s.max_active_jobs_per_user} active jobs per user; "
                "wait for one to finish"
            )
        # "dup" of our own call, sent twice (see enqueue.lua)
        job = await self.get(value)
        return Enqueued(value, job.created_us if job else 0, duplicate=value != job_id)

    async def cancel(self, job_id: str, owner: str, message: str = MESSAGES["cancelled"]) -> str:
        """Cancel the owner's job; returns the state it was found in.

        `message` is what its status says (an operator's cancel says so).
        """
        s = self.settings
        p, slot = self._job_slot(job_id)
        keys = [*self._partition_keys[p], self.keys.job(job_id), self.keys.events(job_id)]
        found: str = await self.access.run(Call(
            slot, self.scripts.cancel, keys,
            [job_id, owner, s.result_ttl_s, s.events_maxlen, message],
        ))
        if found == "missing":
            raise JobNotFound(job_id)
        return found

    # -- workers ---------------------------------------------------------
    def claimer(self, worker_id: str, concurrency: int) -> Claimer:
        """A worker's claimer, told of new work by the partitions' work channels."""
        c = Claimer(self.claim_partition_for(worker_id), self.keys.partitions,
                    sweep_s(self.settings.lease_s), concurrency)
        self._claimers.add(c)
        if self._feed is None:
            k = self.keys
            self._feed = Subscriber(
                self.access.nodes, [k.work(p) for p in range(k.partitions)],
                [k.slot(p) for p in range(k.partitions)], self._notice, self._reset,
                "jobgate-work",
            )
            self._feed.start()
        return c

    def forget_claimer(self, c: Claimer) -> None:
        self._claimers.discard(c)

    def _notice(self, p: int, message: str) -> None:
        for c in self._claimers:
            c.notice(p, message)

    def _reset(self) -> None:
        for c in self._claimers:
            c.reset()

    def claim_partition_for(self, worker_id: str) -> Any:
        async def claim_one(
            p: int, n: int, candidates: list[str], want: int, already: int = 0
        ) -> PartitionClaim:
            return await self.claim_partition(worker_id, p, n, candidates, want, already)
        return claim_one

    async def claim_partition(
        self, worker_id: str, p: int, n: int, candidates: Sequence[str], want: int,
        already: int = 0,
    ) -> PartitionClaim:
        """One claim script in partition p: up to n jobs among `candidates`.
        `already`: jobs claimed elsewhere in this round (a suspect job is taken
        only as the first of a round: it runs alone)."""
        s, k = self.settings, self.keys
        keys = list(self._partition_keys[p])
        for job_id in candidates:
            keys += [k.job(job_id), k.events(job_id)]
        args: list[Arg] = [n, s.lease_ms, worker_id, s.events_maxlen, s.result_ttl_s, want,
                           already, *candidates]
        out = await self.access.run(
            Call(k.slot(p), self.scripts.claim, keys, args), idempotent=False, claims=True
        )
        return PartitionClaim.parse(out)

    async def claim(self, worker_id: str, n: int) -> ClaimBatch:
        """Claim up to n jobs from any partition (for tests and tools; a worker
        keeps its own `claimer`)."""
        c = Claimer(self.claim_partition_for(worker_id), self.keys.partitions, 3600.0, n)
        batch = await c.claim(n)
        while len(batch.jobs) < n and c.has_work() and not any(j.suspect for j in batch.jobs):
            more = await c.claim(n - len(batch.jobs), len(batch.jobs))
            if not more.jobs and not more.reclaimed:
                break
            batch = ClaimBatch(more.now_us or batch.now_us, batch.reclaimed + more.reclaimed,
                               batch.gave_up + more.gave_up, batch.jobs + more.jobs)
        return batch

    def _by_partition(self, leases: Mapping[str, str]) -> dict[int, list[tuple[str, str]]]:
        groups: dict[int, list[tuple[str, str]]] = {}
        for job_id, lease in leases.items():
            p = self.keys.partition_of_job(job_id)
            if p is not None:
                groups.setdefault(p, []).append((job_id, lease))
        return groups

    async def heartbeat(self, leases: Mapping[str, str]) -> list[str]:
        """Renew the leases; the ids among them whose lease is no longer held."""
        k, s = self.keys, self.settings
        groups = self._by_partition(leases)
        calls = [
            Call(k.slot(p), self.scripts.heartbeat,
                 [k.leases(p), *(k.job(j) for j, _ in pairs)],
                 [s.lease_ms, *(x for pair in pairs for x in pair)])
            for p, pairs in groups.items()
        ]
        lost: list[str] = []
        for r in ok(await self.access.run_many(calls)):
            lost += r
        return lost

    async def progress(
        self,
        job_id: str,
        lease: str,
        fraction: float,
        message: str | None,
        step: Mapping[str, Any] | None,
    ) -> None:
        data: dict[str, Any] = {"progress": fraction, "message": message or "", "step": step}
        await self._report(
            job_id, lease, "progress", data,
            str(fraction), message or "", serde.dumps(step) if step else "",
        )

    async def append_event(
        self, job_id: str, lease: str, type: str, data: Mapping[str, Any]
    ) -> None:
        await self._report(job_id, lease, type, data, "", "", "")

    async def _report(self, job_id: str, lease: str, type: str, data: Any, *extra: str) -> None:
        k = self.keys
        p, slot = self._job_slot(job_id)
        eid = await self.access.run(Call(
            slot, self.scripts.report, [k.job(job_id), k.events(job_id), k.notify(p)],
            [job_id, lease, type, serde.dumps(data), self.settings.events_maxlen, *extra],
        ), idempotent=False)
        if not eid:
            raise LeaseLost(job_id)

    async def finish_many(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """End several attempts: one script call per partition, one round trip per
        server; False where the lease was lost. Done only once the replicas it
        needs have it."""
        s, k = self.settings, self.keys
        groups: dict[int, list[int]] = {}
        for i, o in enumerate(outcomes):
            groups.setdefault(self._job_slot(o.job_id)[0], []).append(i)
        calls = []
        for p, members in groups.items():
            keys = list(self._partition_keys[p])
            args: list[Arg] = [s.result_ttl_s, s.events_maxlen]
            for i in members:
                o = outcomes[i]
                keys += [k.job(o.job_id), k.events(o.job_id)]
                args += [o.job_id, o.lease, o.ending.value, o.body_json,
                         int(o.retry_delay_s * 1e6), o.message]
            calls.append(Call(k.slot(p), self.scripts.finish, keys, args))
        accepted = [False] * len(outcomes)
        replies = ok(await self.access.run_many(calls, idempotent=False, durable=True))
        for members, reply in zip(groups.values(), replies, strict=True):
            for i, one in zip(members, reply, strict=True):
                accepted[i] = bool(one)
        return accepted

    async def handback(self, leases: Mapping[str, str]) -> int:
        k = self.keys
        calls = []
        for p, pairs in self._by_partition(leases).items():
            keys = list(self._partition_keys[p])
            for j, _ in pairs:
                keys += [k.job(j), k.events(j)]
            args: list[Arg] = [self.settings.events_maxlen, *(x for pair in pairs for x in pair)]
            calls.append(Call(k.slot(p), self.scripts.handback, keys, args))
        return sum(int(n) for n in ok(await self.access.run_many(calls)))

    async def aclose(self) -> None:
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        await self.access.aclose()


__all__ = [
    "FIRST_EVENT", "ClaimBatch", "Claimed", "Enqueued", "JobStore", "Outcome", "RawEvent",
    "is_event_id",
]
