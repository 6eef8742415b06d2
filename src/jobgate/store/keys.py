"""The whole Redis layout of jobgate, on one screen.

Per job (hash tag `{<id>}` keeps them in one cluster slot):
    <ns>:job:{<id>}        hash    the job record (see job.Job.from_hash)
    <ns>:ev:{<id>}         stream  its append-only event log (SSE ids)
Shared:
    <ns>:queue:<priority>  list    pending job ids, FIFO; stale ids are skipped
    <ns>:delayed           zset    retries waiting for their backoff (score: due µs)
    <ns>:leases            zset    running jobs (score: lease expiry µs)
    <ns>:dead              zset    failed jobs kept for the result TTL (score: end µs)
    <ns>:wake              list    tokens that wake a blocked worker (one per enqueue,
                                   cleared by the claim that empties the queues)
    <ns>:active:<owner>    set     the owner's pending and running job ids (the cap)
    <ns>:owner:<owner>     zset    the owner's jobs, newest last (score: created µs)
    <ns>:idem:<sha256>     string  idempotency key → job id
    <ns>:notify            channel job ids whose state or events changed ('<id> s' or
                                   '<id> e'); '<id> n <owner>': the owner's new job
    <ns>:outbox            zset    terminal jobs not yet archived to SQL (score: end µs);
                                   their keys get the result TTL once archived
    <ns>:archiver          string  the archiver lease: one process drains at a time
Operators (api/admin.py):
    <ns>:workers           zset    registered worker ids (score: last beat, wall-clock ms)
    <ns>:worker:<id>       hash    one worker's host, pid, concurrency, running jobs;
                                   rewritten every heartbeat, expires after WORKER_TTL_S
An operator's retry of a failed job stores the new job's id as an idempotency
key of the owner (`retry_idempotency`): a retry asked twice makes one job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from jobgate.job import PRIORITY_ORDER, Priority

# A worker's registration outlives a few missed beats, then it is gone: long
# enough for a slow heartbeat, short enough that a killed worker leaves the list.
WORKER_TTL_S = 10.0


@dataclass(frozen=True, slots=True)
class Keys:
    ns: str

    def job(self, job_id: str) -> str:
        return f"{self.ns}:job:{{{job_id}}}"

    def events(self, job_id: str) -> str:
        return f"{self.ns}:ev:{{{job_id}}}"

    def queue(self, priority: Priority) -> str:
        return f"{self.ns}:queue:{priority.value}"

    @property
    def queues(self) -> list[str]:
        return [self.queue(p) for p in PRIORITY_ORDER]

    @property
    def delayed(self) -> str:
        return f"{self.ns}:delayed"

    @property
    def leases(self) -> str:
        return f"{self.ns}:leases"

    @property
    def dead(self) -> str:
        return f"{self.ns}:dead"

    @property
    def wake(self) -> str:
        return f"{self.ns}:wake"

    @property
    def notify(self) -> str:
        return f"{self.ns}:notify"

    @property
    def outbox(self) -> str:  # also spelled in lua/_lib.lua `outbox_key`
        return f"{self.ns}:outbox"

    @property
    def archiver(self) -> str:
        return f"{self.ns}:archiver"

    def active(self, owner: str) -> str:
        return f"{self.ns}:active:{owner}"

    def owner_jobs(self, owner: str) -> str:
        return f"{self.ns}:owner:{owner}"

    def idempotency(self, owner: str, key: str) -> str:
        digest = hashlib.sha256(f"{owner}\x00{key}".encode()).hexdigest()
        return f"{self.ns}:idem:{digest}"

    @property
    def workers(self) -> str:
        return f"{self.ns}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.ns}:worker:{worker_id}"


def retry_idempotency(job_id: str) -> str:
    """The idempotency key (as `Keys.idempotency` takes it) of an operator's
    retry of `job_id`. NUL cannot occur in an HTTP header, so no client's own
    Idempotency-Key can ever name it."""
    return f"\x00retry:{job_id}"
