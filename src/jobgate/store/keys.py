"""The whole Redis layout of jobgate, on one screen.

Work is spread over P partitions (`JOBGATE_PARTITIONS`, default 16, fixed per
deployment). Every key of partition p carries the hash tag T = `{<ns>:<p>:<salt>}`,
so all of them live in one cluster slot; the salt spreads the P slots evenly
over the slot space (and so over the shards). A job lives in its owner's
partition, and its id ends in `-p<p>`: any reader finds its slot from the id.

Per partition (tag T):
    T:job:<id>        hash    the job record (see job.Job.from_hash); once the job
                              has ended, its event log too (fields log, log1, ...)
    T:ev:<id>         stream  its append-only event log (SSE ids) while it runs;
                              moved into the record when it ends (store/eventlog.py)
    T:q:<priority>    list    pending job ids, FIFO; stale ids are skipped
    T:delayed         zset    retries waiting out their backoff (score: due µs)
    T:leases          zset    running jobs (score: lease expiry µs)
    T:dead            zset    failed jobs, kept for the result TTL (score: end µs)
    T:active          zset    "<sha1(owner)>:<id>" of pending and running jobs (score 0):
                              the cap counts an owner's range (ZLEXCOUNT)
    T:outbox          zset    terminal jobs not yet archived to SQL (score: end µs);
                              their keys get the result TTL once archived
    T:owner:<owner>   zset    the owner's jobs (score: created µs)
    T:idem:<sha256>   string  idempotency key → job id
    T:notify          shard channel  "<id> s" (status changed) | "<id> e" (event only)
                              | "<id> n <owner>" (the owner's new job)
    T:work            shard channel  work for workers: "q <prio> <id>" | "d <delay µs> <id>"
                              | "l <lease µs>" (jobs claimed: leases to look at then)
Global (tag {<ns>}: one slot of their own):
    {<ns>}:meta       hash    partitions = P, written at first start, checked at every start
    {<ns>}:archiver   string  the archiver lease: one process drains the outboxes at a time
    {<ns>}:workers    zset    registered worker ids (score: last beat, wall-clock ms)
    {<ns>}:worker:<id> hash   one worker's host, pid, concurrency, running jobs;
                              rewritten every heartbeat, expires after WORKER_TTL_S
An operator's retry of a failed job stores the new job's id as an idempotency
key of the owner (`retry_idempotency`): a retry asked twice makes one job.

Why by owner: submit checks the owner's cap and idempotency key, indexes the
job under its owner and queues it; with all of these in the owner's
partition, submit is one script in one slot. The price: one very busy owner's
jobs all land on one shard.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import cached_property

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from jobgate.job import PRIORITY_ORDER, Priority, is_valid_job_id, partition_of

# A worker's registration outlives a few missed beats, then it is gone: long
# enough for a slow heartbeat, short enough that a killed worker leaves the list.
WORKER_TTL_S = 10.0


def _spread_tag(ns: str, p: int, partitions: int) -> str:
    """The first tag of partition p whose slot falls in the p-th 1/P of the slot space."""
    width = REDIS_CLUSTER_HASH_SLOTS / partitions
    salt = 0
    while True:
        inner = f"{ns}:{p}:{salt}"
        if int(key_slot(inner.encode()) // width) == p:
            return "{" + inner + "}"
        salt += 1


class Keys:
    def __init__(self, ns: str, partitions: int = 16) -> None:
        self.ns = ns
        self.partitions = partitions
        self.tags = tuple(_spread_tag(ns, p, partitions) for p in range(partitions))

    # -- where things live -------------------------------------------------
    def partition_of_owner(self, owner: str) -> int:
        return zlib.crc32(owner.encode()) % self.partitions

    def partition_of_job(self, job_id: str) -> int | None:
        """The job's partition, or None for an id that names none of ours."""
        if not is_valid_job_id(job_id):
            return None
        p = partition_of(job_id)
        return p if p < self.partitions else None

    def slot(self, p: int) -> int:
        return self._slots[p]

    @cached_property
    def _slots(self) -> tuple[int, ...]:
        return tuple(key_slot(t.encode()) for t in self.tags)

    @property
    def meta(self) -> str:
        return f"{{{self.ns}}}:meta"

    @property
    def archiver(self) -> str:
        return f"{{{self.ns}}}:archiver"

    @property
    def workers(self) -> str:
        return f"{{{self.ns}}}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{{{self.ns}}}:worker:{worker_id}"

    # -- per job (the id names the partition) --------------------------------
    def job(self, job_id: str) -> str:
        return f"{self.tags[partition_of(job_id)]}:job:{job_id}"

    def events(self, job_id: str) -> str:
        return f"{self.tags[partition_of(job_id)]}:ev:{job_id}"

    # -- per partition -------------------------------------------------------
    def queue(self, p: int, priority: Priority) -> str:
        return f"{self.tags[p]}:q:{priority.value}"

    def queues(self, p: int) -> list[str]:
        return [self.queue(p, prio) for prio in PRIORITY_ORDER]

    def delayed(self, p: int) -> str:
        return f"{self.tags[p]}:delayed"

    def leases(self, p: int) -> str:
        return f"{self.tags[p]}:leases"

    def dead(self, p: int) -> str:
        return f"{self.tags[p]}:dead"

    def active(self, p: int) -> str:
        return f"{self.tags[p]}:active"

    def outbox(self, p: int) -> str:
        return f"{self.tags[p]}:outbox"

    def active_prefix(self, owner: str) -> str:
        """The owner's entries in its partition's `active` zset start with this."""
        return hashlib.sha1(owner.encode()).hexdigest() + ":"

    def notify(self, p: int) -> str:
        return f"{self.tags[p]}:notify"

    def work(self, p: int) -> str:
        return f"{self.tags[p]}:work"

    # -- per owner (in the owner's partition) --------------------------------
    def owner_jobs(self, owner: str) -> str:
        return f"{self.tags[self.partition_of_owner(owner)]}:owner:{owner}"

    def idempotency(self, owner: str, key: str) -> str:
        digest = hashlib.sha256(f"{owner}\x00{key}".encode()).hexdigest()
        return f"{self.tags[self.partition_of_owner(owner)]}:idem:{digest}"


def retry_idempotency(job_id: str) -> str:
    """The idempotency key (as `Keys.idempotency` takes it) of an operator's
    retry of `job_id`. NUL cannot occur in an HTTP header, so no client's own
    Idempotency-Key can ever name it."""
    return f"\x00retry:{job_id}"
