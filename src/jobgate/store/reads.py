"""The store's reads: a job, its events, an owner's list, and counts for
operators. Each is one round trip to the server holding the slot it reads
(counts: one per server, all at once)."""

from __future__ import annotations

import re

from redis.crc import key_slot

from jobgate import serde
from jobgate.errors import ConfigError, JobNotFound
from jobgate.job import MESSAGES, Job, JobState, Priority
from jobgate.models import JobEvent
from jobgate.settings import Settings
from jobgate.store import eventlog
from jobgate.store.access import Access
from jobgate.store.eventlog import RawEvent as RawEvent
from jobgate.store.keys import Keys
from jobgate.store.replies import as_dict, clock_us, ok

_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

FIRST_EVENT = JobEvent(
    id="0-1", type="state",
    data={"status": JobState.PENDING.value, "attempt": 0, "message": MESSAGES["queued"]},
)


_FIRST_RAW: RawEvent = (FIRST_EVENT.id, FIRST_EVENT.type, serde.dumps(FIRST_EVENT.data))


def is_event_id(value: str) -> bool:
    return bool(_EVENT_ID.match(value))



class Reads:
    access: Access
    keys: Keys
    settings: Settings

    def _job_slot(self, job_id: str) -> tuple[int, int]:
        """(partition, slot) of a job id; JobNotFound for an id that names none."""
        p = self.keys.partition_of_job(job_id)
        if p is None:
            raise JobNotFound(job_id)
        return p, self.keys.slot(p)

    # -- readers ---------------------------------------------------------
    async def get(self, job_id: str) -> Job | None:
        p = self.keys.partition_of_job(job_id)
        if p is None:
            return None
        a = self.access
        (raw,) = ok(await a.send(self.keys.slot(p), a.pack("HGETALL", self.keys.job(job_id)), 1))
        return Job.from_hash(as_dict(raw)) if raw else None

    async def get_with_time(self, job_id: str) -> tuple[Job | None, int]:
        """The job and its server's clock, in one round trip (for lease checks)."""
        _, slot = self._job_slot(job_id)
        a = self.access
        commands = a.pack("HGETALL", self.keys.job(job_id)) + a.pack("TIME")
        raw, now = ok(await a.send(slot, commands, 2))
        return (Job.from_hash(as_dict(raw)) if raw else None), clock_us(now)

    async def get_owned(self, job_id: str, owner: str) -> tuple[Job, int]:
        """The owner's job, or JobNotFound for unknown, malformed or others' ids alike."""
        job, now = await self.get_with_time(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(job_id)
        return job, now

    async def active_now(self, owner: str) -> tuple[list[str], int]:
        """The owner's pending and running job ids and the server's clock, read
        in one MULTI: a job created after that clock is not among them (per-user
        feeds then follow new jobs with `created_after`)."""
        a, k = self.access, self.keys
        p = k.partition_of_owner(owner)
        mine = k.active_prefix(owner)
        upto = mine[:-1] + ";"  # ':' + 1: the end of the owner's range
        commands = (a.pack("MULTI") + a.pack("ZRANGE", k.active(p), f"[{mine}", f"({upto}",
                                             "BYLEX") + a.pack("TIME") + a.pack("EXEC"))
        *_, done = ok(await a.send(k.slot(p), commands, 4))
        members, now = ok(done)
        return sorted(m[len(mine):] for m in members), clock_us(now)

    async def created_after(
        self, owner: str, after_us: int, limit: int
    ) -> list[tuple[str, int]]:
        """The owner's jobs created after `after_us`, oldest first, with their
        creation times (the owner index; no scan)."""
        a, k = self.access, self.keys
        (rows,) = ok(await a.send(k.slot(k.partition_of_owner(owner)), a.pack(
            "ZRANGE", k.owner_jobs(owner), f"({after_us}", "+inf", "BYSCORE", "LIMIT", 0, limit,
            "WITHSCORES"), 1))
        if rows and isinstance(rows[0], list | tuple):
            return [(str(j), int(float(sc))) for j, sc in rows]
        return [(str(rows[i]), int(float(rows[i + 1]))) for i in range(0, len(rows), 2)]

    async def server_time(self) -> int:
        """The clock of the server holding partition 0, in µs."""
        a = self.access
        (now,) = ok(await a.send(self.keys.slot(0), a.pack("TIME"), 1))
        return clock_us(now)

    async def list_jobs(
        self, owner: str, limit: int, before_us: int | None = None
    ) -> tuple[list[Job], int | None, int]:
        """The owner's jobs, newest first, the cursor (the last one's creation
        time) and the server's clock. All in the owner's partition."""
        a, k = self.access, self.keys
        slot, zkey = k.slot(k.partition_of_owner(owner)), k.owner_jobs(owner)
        top = f"({before_us}" if before_us is not None else "+inf"
        (ids,) = ok(await a.send(slot, a.pack(
            "ZRANGE", zkey, top, "-inf", "BYSCORE", "REV", "LIMIT", 0, limit + 1), 1))
        page, more = ids[:limit], len(ids) > limit
        commands = b"".join(a.pack("HGETALL", k.job(j)) for j in page) + a.pack("TIME")
        *raws, now = ok(await a.send(slot, commands, len(page) + 1))
        jobs, gone = [], []
        for job_id, raw in zip(page, raws, strict=True):
            (jobs.append(Job.from_hash(as_dict(raw))) if raw else gone.append(job_id))
        if gone:  # expired after their TTL: prune the index lazily
            ok(await a.send(slot, a.pack("ZREM", zkey, *gone), 1))
        cursor = jobs[-1].created_us if (more and jobs) else None
        return jobs, cursor, clock_us(now)

    async def events_after(
        self, job_id: str, after: str | None, count: int = 500
    ) -> list[JobEvent]:
        """The job's events after `after` (from the start when None)."""
        return [
            JobEvent(id=eid, type=etype, data=serde.loads(data))
            for eid, etype, data in await self.raw_events_after(job_id, after, count)
        ]

    async def raw_events_after(
        self, job_id: str, after: str | None, count: int = 500
    ) -> list[RawEvent]:
        """As `events_after`, with each event's data left as JSON text: an event
        stream passes it on as is (a compacted log's is written back as one).

        The first event of every job, `pending`, is not stored (enqueue is the
        hottest script): it is supplied here, with the id 0-1, before any
        stored event.

        A finished job's log may have left its stream for its record
        (store/eventlog.py), in the very script that ended it. Both are read
        in one round trip, the stream first: a log found in the record is
        the whole log, so whenever the compaction ran (before, between or
        after the two reads) nothing is missed and nothing comes twice.
        Readers outside the store (tests, tools) read it as `eventlog.read`.
        """
        _, slot = self._job_slot(job_id)
        a, k = self.access, self.keys
        start = f"({after}" if after else "-"
        commands = (a.pack("XRANGE", k.events(job_id), start, "+", "COUNT", count)
                    + a.pack("HMGET", k.job(job_id), *eventlog.FIELDS))
        entries, chunks = ok(await a.send(slot, commands, 2))
        events = eventlog.read(entries, chunks, after, count)
        return events if after else [_FIRST_RAW, *events]

    # -- operators -------------------------------------------------------
    async def _per_partition(self, *commands: tuple[str, ...]) -> list[list[int]]:
        """The same counting commands in every partition (`{}` stands for p's key)."""
        a, k = self.access, self.keys
        batch = []
        for p in range(k.partitions):
            header = dict(zip(("leases", "delayed"), (k.leases(p), k.delayed(p)), strict=True))
            header |= {prio.value: k.queue(p, prio) for prio in Priority}
            packed = b"".join(a.pack(cmd, header[which]) for cmd, which in commands)
            batch.append((k.slot(p), packed, len(commands)))
        return [[int(x) for x in ok(r)] for r in await a.send_many(batch)]

    async def queue_depths(self) -> dict[Priority, int]:
        counts = await self._per_partition(*(("LLEN", p.value) for p in Priority))
        return {prio: sum(c[i] for c in counts) for i, prio in enumerate(Priority)}

    async def running_count(self) -> int:
        return sum(c[0] for c in await self._per_partition(("ZCARD", "leases")))

    async def pending_work(self) -> int:
        """Jobs queued, waiting out a retry or running, in all partitions."""
        counts = await self._per_partition(
            ("ZCARD", "leases"), ("ZCARD", "delayed"), *(("LLEN", p.value) for p in Priority)
        )
        return sum(sum(c) for c in counts)

    async def ping(self) -> None:
        """Every server holding a partition answers, or this raises."""
        a = self.access
        slots = sorted({self.keys.slot(p) for p in range(self.keys.partitions)})
        ok([r for rs in await a.send_many([(s, a.pack("PING"), 1) for s in slots]) for r in rs])

    async def memory_used(self) -> int:
        """Bytes used by the servers holding the partitions, summed."""
        a = self.access
        slots = {a.nodes.home(self.keys.slot(p)): self.keys.slot(p)
                 for p in range(self.keys.partitions)}
        replies = await a.send_many([(s, a.pack("INFO", "memory"), 1) for s in slots.values()])
        total = 0
        for (info,) in replies:
            for line in str(info).splitlines():
                if line.startswith("used_memory:"):
                    total += int(line.split(":", 1)[1])
        return total

    async def check_partitions(self) -> None:
        """The partition count is fixed per deployment: set at first start, then checked."""
        a, meta = self.access, self.keys.meta
        commands = a.pack("HSETNX", meta, "partitions", self.keys.partitions)
        (_, found) = ok(await a.send(
            key_slot(meta.encode()), commands + a.pack("HGET", meta, "partitions"), 2))
        if int(found) != self.keys.partitions:
            raise ConfigError(
                f"this deployment has {found} partitions; "
                f"JOBGATE_PARTITIONS={self.keys.partitions} would lose track of its jobs. "
                "Keep the count it started with."
            )

