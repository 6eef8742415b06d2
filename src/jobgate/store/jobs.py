"""JobStore: the only code that talks to Redis about jobs.

Each method is one round trip: a Lua script for every state change, a
pipeline for reads. Decisions about jobs live in `jobgate.job`, not here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from jobgate import serde
from jobgate.errors import JobNotFound, LeaseLost, TooManyActiveJobs
from jobgate.job import Job, Priority, is_valid_job_id, new_job_id
from jobgate.models import JobEvent
from jobgate.settings import Settings
from jobgate.store.keys import Keys
from jobgate.store.lane import Lane, LaneScript
from jobgate.store.operators import OperatorReads
from jobgate.store.scripts import Scripts

_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


@dataclass(frozen=True, slots=True)
class Enqueued:
    job_id: str
    created_us: int
    duplicate: bool


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


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    now_us: int
    reclaimed: int
    gave_up: int
    jobs: list[Claimed]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended, as the worker reports it."""

    job_id: str
    lease: str
    state: str  # completed | failed | cancelled | retry
    body_json: str = "null"  # the result, or the error {"code", "message"}, as JSON
    message: str = ""
    retry_delay_s: float = 0.0


FIRST_EVENT = JobEvent(
    id="0-1", type="state", data={"status": "pending", "attempt": 0, "message": "queued"}
)


RawEvent = tuple[str, str, str]  # id, type, data as JSON
_FIRST_RAW: RawEvent = (FIRST_EVENT.id, FIRST_EVENT.type, serde.dumps(FIRST_EVENT.data))


def _ok(replies: list[Any]) -> list[Any]:
    for r in replies:
        if isinstance(r, Exception):
            raise r
    return replies


def _as_dict(reply: Any) -> dict[str, str]:
    """A hash as RESP2 sends it (a flat list) or RESP3 (a map)."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


def is_event_id(value: str) -> bool:
    return bool(_EVENT_ID.match(value))


class JobStore(OperatorReads):
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = Keys(settings.namespace)
        self.scripts = Scripts.register(redis)
        # Submits and the reads of waiting clients (see lane.py); not worker writes.
        self._lane = Lane(redis, name="jobgate-lane")
        self._enqueue = LaneScript(
            self._lane, redis, self.scripts.enqueue,
            [settings.namespace, settings.max_active_jobs_per_user, settings.idempotency_ttl_s],
        )

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
        s = self.settings
        job_id = new_job_id()
        idem = self.keys.idempotency(owner, idempotency_key) if idempotency_key else ""
        status, value = await self._enqueue(
            [
                job_id, kind, owner, priority.value, serde.dumps(payload),
                max_attempts or s.max_attempts, timeout_s or s.job_timeout_s, idem,
                "" if estimate_s is None else round(estimate_s, 1), self.keys.notify,
            ]
        )
        if status == "full":
            raise TooManyActiveJobs(
                f"at most {s.max_active_jobs_per_user} active jobs per user; "
                "wait for one to finish"
            )
        if status == "dup":  # an idempotency key's job, or our own call, sent twice
            job = await self.get(value)
            return Enqueued(value, job.created_us if job else 0, duplicate=value != job_id)
        return Enqueued(job_id, int(value), duplicate=False)

    async def aclose(self) -> None:
        await self._lane.aclose()

    async def cancel(self, job_id: str, owner: str, message: str = "cancelled by user") -> str:
        """Cancel the owner's job; returns the state it was found in.

        `message` is what its status says (an operator's cancel says so).
        """
        s = self.settings
        found: str = await self.scripts.cancel(
            args=[s.namespace, job_id, owner, s.result_ttl_s, s.events_maxlen, message]
        )
        if found == "missing":
            raise JobNotFound(job_id)
        return found

    # -- readers ---------------------------------------------------------
    async def get(self, job_id: str) -> Job | None:
        (raw,) = _ok(await self._lane.send(self._lane.pack("HGETALL", self.keys.job(job_id)), 1))
        return Job.from_hash(_as_dict(raw)) if raw else None

    async def get_with_time(self, job_id: str) -> tuple[Job | None, int]:
        """The job and the server's clock, in one round trip (for lease checks)."""
        commands = self._lane.pack("HGETALL", self.keys.job(job_id)) + self._lane.pack("TIME")
        raw, (sec, usec) = _ok(await self._lane.send(commands, 2))
        return (Job.from_hash(_as_dict(raw)) if raw else None), int(sec) * 1_000_000 + int(usec)

    async def get_owned(self, job_id: str, owner: str) -> tuple[Job, int]:
        """The owner's job, or JobNotFound for unknown, malformed or others' ids alike."""
        if not is_valid_job_id(job_id):
            raise JobNotFound(job_id)
        job, now = await self.get_with_time(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(job_id)
        return job, now

    async def active_now(self, owner: str) -> tuple[list[str], int]:
        """The owner's pending and running job ids and the server's clock, read
        in one MULTI: a job created after that clock is not among them (per-user
        feeds then follow new jobs with `created_after`)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.smembers(self.keys.active(owner))
            pipe.time()
            ids, (sec, usec) = await pipe.execute()
        return sorted(ids), int(sec) * 1_000_000 + int(usec)

    async def created_after(
        self, owner: str, after_us: int, limit: int
    ) -> list[tuple[str, int]]:
        """The owner's jobs created after `after_us`, oldest first, with their
        creation times (the owner index; no scan)."""
        rows = cast(list[tuple[str, float]], await self.redis.zrangebyscore(
            self.keys.owner_jobs(owner), f"({after_us}", "+inf", start=0, num=limit,
            withscores=True,
        ))
        return [(str(job_id), int(score)) for job_id, score in rows]

    async def list_jobs(
        self, owner: str, limit: int, before_us: int | None = None
    ) -> tuple[list[Job], int | None, int]:
        """The owner's jobs, newest first, the cursor (the last one's creation
        time) and the server's clock, read in the same round trip."""
        zkey = self.keys.owner_jobs(owner)
        top = f"({before_us}" if before_us is not None else "+inf"
        ids = cast(
            list[str],
            await self.redis.zrange(
                zkey, top, "-inf", byscore=True, desc=True, offset=0, num=limit + 1
            ),
        )
        page, more = ids[:limit], len(ids) > limit
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in page:
                pipe.hgetall(self.keys.job(job_id))
            pipe.time()
            *raws, (sec, usec) = await pipe.execute()
        jobs, gone = [], []
        for job_id, raw in zip(page, raws, strict=True):
            (jobs.append(Job.from_hash(raw)) if raw else gone.append(job_id))
        if gone:  # expired after their TTL: prune the index lazily
            await self.redis.zrem(zkey, *gone)
        cursor = jobs[-1].created_us if (more and jobs) else None
        return jobs, cursor, int(sec) * 1_000_000 + int(usec)

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
        """As `events_after`, with each event's data left as the JSON it is stored
        as: an event stream passes it on as is.

        The first event of every job, `pending`, is not stored (enqueue is the
        hottest script): it is supplied here, with the id 0-1, before any
        stored event.
        """
        start = f"({after}" if after else "-"
        command = self._lane.pack("XRANGE", self.keys.events(job_id), start, "+", "COUNT", count)
        (entries,) = _ok(await self._lane.send(command, 1))
        events = []
        for eid, flat in entries:
            fields = _as_dict(flat)
            events.append((eid, fields.get("type", "event"), fields["data"]))
        return events if after else [_FIRST_RAW, *events]

    # -- workers ---------------------------------------------------------
    async def claim(self, worker_id: str, n: int) -> ClaimBatch:
        s = self.settings
        out = await self.scripts.claim(
            args=[s.namespace, n, s.lease_ms, worker_id, s.events_maxlen, s.result_ttl_s]
        )
        jobs = [
            Claimed(
                job_id=out[i], lease=out[i + 1], attempt=int(out[i + 2]), kind=out[i + 3],
                owner=out[i + 4], payload=serde.loads(out[i + 5]) if out[i + 5] else None,
                max_attempts=int(out[i + 6]), timeout_s=float(out[i + 7]),
                created_us=int(out[i + 8]),
            )
            for i in range(3, len(out), 9)
        ]
        return ClaimBatch(int(out[0]), int(out[1]), int(out[2]), jobs)

    async def wait_for_work(self, blocking: Redis, timeout_s: float) -> bool:
        """Block (on a connection of its own) until an enqueue leaves a wake token."""
        return await blocking.blpop([self.keys.wake], timeout=timeout_s) is not None

    async def heartbeat(self, leases: Mapping[str, str]) -> list[str]:
        if not leases:
            return []
        flat = [x for pair in leases.items() for x in pair]
        lost: list[str] = await self.scripts.heartbeat(
            args=[self.settings.namespace, self.settings.lease_ms, *flat]
        )
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
        s = self.settings
        eid = await self.scripts.report(
            args=[s.namespace, job_id, lease, type, serde.dumps(data), s.events_maxlen, *extra]
        )
        if not eid:
            raise LeaseLost(job_id)

    async def finish_many(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """End several attempts in one round trip; False where the lease was lost."""
        s = self.settings
        async with self.redis.pipeline(transaction=False) as pipe:
            for o in outcomes:
                await self.scripts.finish(
                    args=[
                        s.namespace, o.job_id, o.lease, o.state, o.body_json,
                        s.result_ttl_s, s.events_maxlen, int(o.retry_delay_s * 1e6), o.message,
                    ],
                    client=pipe,
                )
            results = await pipe.execute()
        return [bool(r) for r in results]

    async def handback(self, leases: Mapping[str, str]) -> int:
        if not leases:
            return 0
        flat = [x for pair in leases.items() for x in pair]
        n: int = await self.scripts.handback(
            args=[self.settings.namespace, self.settings.events_maxlen, *flat]
        )
        return n

    # -- operators -------------------------------------------------------
    async def queue_depths(self) -> dict[Priority, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in Priority:
                pipe.llen(self.keys.queue(p))
            counts = await pipe.execute()
        return dict(zip(Priority, (int(c) for c in counts), strict=True))

    async def running_count(self) -> int:
        return int(await self.redis.zcard(self.keys.leases))
