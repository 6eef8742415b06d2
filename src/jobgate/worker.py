"""The worker: claims jobs in batches, runs handlers, keeps their leases alive.

One claim loop fills free slots (one script call for many jobs), one
heartbeat loop renews every lease the worker holds in a single call and
learns which jobs it lost (cancelled, or reclaimed after a lapse), and one
flusher writes finished attempts in a pipeline: whatever finished while the
previous write was in flight goes in the next one (group commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobgate import metrics, serde
from jobgate.aio import cancel_until_done, wait_event
from jobgate.context import JobContext
from jobgate.errors import LeaseLost, PermanentError
from jobgate.failures import failure_of
from jobgate.job import (
    BAD_RESULT,
    UNKNOWN_KIND,
    AttemptEnd,
    Ending,
    Failure,
    end_of_attempt,
    next_retry_delay,
)
from jobgate.settings import Settings
from jobgate.store.claims import ClaimBatch, Claimed
from jobgate.store.connection import TRANSIENT
from jobgate.store.jobs import JobStore, Outcome
from jobgate.store.operators import WorkerCard

log = logging.getLogger(__name__)

Handler = Callable[[JobContext, Any], Awaitable[Any]]


@dataclass(eq=False)
class _Running:
    claimed: Claimed
    ctx: JobContext
    started: float
    task: asyncio.Task[None] | None = None
    lost: bool = False
    done: bool = False  # outcome queued, waiting for the flusher


@dataclass
class WorkerStats:
    completed: int = 0
    failed: int = 0
    retried: int = 0
    lost: int = 0
    handed_back: int = 0
    by_ending: dict[Ending, int] = field(default_factory=dict)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        store: JobStore,
        handlers: Mapping[str, Handler],
        settings: Settings,
        *,
        concurrency: int | None = None,
        burst: bool = False,
        worker_id: str | None = None,
        on_ended: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.handlers = dict(handlers)
        self.settings = settings
        self.concurrency = concurrency or settings.worker_concurrency
        self.burst = burst
        self.id = worker_id or new_worker_id()
        self.on_ended = on_ended  # jobs ended here (the archiver's poke)
        self.stats = WorkerStats()
        self._running: dict[str, _Running] = {}
        self._outcomes: list[Outcome] = []
        self._flush_wanted = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()
        self._stop_requested_at: float | None = None
        self._started_at = time.time()
        self._renewed_at = time.monotonic()  # leases last renewed (or none held)

    # -- lifecycle -------------------------------------------------------
    def request_stop(self, *, now: bool = False) -> None:
        """Stop claiming; `run` then drains within the grace period and returns.

        `now` cuts the grace short: running jobs are handed back at once
        (a second Ctrl-C on `jobgate up`).
        """
        if self._stop_requested_at is None:  # the grace counts from the first request
            self._stop_requested_at = time.monotonic()
        self._stopping.set()
        if now:
            self._hurry.set()

    async def run(self) -> None:
        log.info("worker started", extra={"worker": self.id})
        self.claimer = self.store.claimer(self.id, self.concurrency)
        helpers = [
            asyncio.create_task(self._heartbeat_loop(), name="jobgate-heartbeat"),
            asyncio.create_task(self._flush_loop(), name="jobgate-flush"),
        ]
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            # the heartbeat's registration can swallow a single cancel (aio.py)
            await cancel_until_done(helpers)
            self.store.forget_claimer(self.claimer)
            with contextlib.suppress(*TRANSIENT):  # else its card expires by itself
                await self.store.unregister_worker(self.id)
            log.info("worker stopped", extra={"worker": self.id})

    async def _drain(self) -> None:
        """Let running jobs finish within the grace period, then hand the rest back."""
        tasks = [r.task for r in self._running.values() if r.task is not None and not r.done]
        if tasks:
            await self._let_finish(tasks)
        left = {j: r for j, r in self._running.items() if not r.done and not r.lost}
        if left:
            for r in left.values():
                r.lost = True  # its writes are no longer ours to make
            # a job's store call can swallow a single cancel, and the job would run on
            await cancel_until_done(r.task for r in left.values() if r.task is not None)
            handed = await self.store.handback({j: r.claimed.lease for j, r in left.items()})
            self.stats.handed_back += handed
            log.info("handed back %d jobs", handed, extra={"worker": self.id})
            for j in left:
                self._running.pop(j, None)
        await self._flush_all()

    async def _let_finish(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the running jobs until they end, the grace ends, or a hurry."""
        end = (self._stop_requested_at or time.monotonic()) + self.settings.shutdown_grace_s
        hurry = asyncio.create_task(self._hurry.wait())
        pending: set[asyncio.Future[Any]] = set(tasks)
        try:
            while pending and not hurry.done() and (left := end - time.monotonic()) > 0:
                done, _ = await asyncio.wait(
                    pending | {hurry}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                pending -= done
        finally:
            hurry.cancel()

    # -- claiming --------------------------------------------------------
    async def _claim_loop(self) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            # A finished job frees its slot at once; its outcome is written by the
            # flusher meanwhile, so claiming and completing overlap.
            free = self.concurrency - sum(1 for r in self._running.values() if not r.done)
            if self._running_suspect():
                free = 0  # nothing joins a job that may kill this process, until it ends
            if free <= 0:
                self._slot_freed.clear()
                await wait_event(self._slot_freed, self.settings.worker_poll_s)
                continue
            batch = await self._claim(free)
            if batch is None:
                await wait_event(self._stopping, backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if batch.reclaimed:
                metrics.JOBS_RECLAIMED.inc(batch.reclaimed)
            for c in batch.jobs:
                self._start(c, batch.now_us)
            if len(batch.jobs) < free and not await self._idle(batch.jobs != []):
                return

    async def _claim(self, n: int) -> ClaimBatch | None:
        """Up to n jobs; None when Valkey failed."""
        # After an outage our own leases come first: a claim would take our
        # lapsed jobs back (suspect) as if this worker had died with them.
        if self._leases_stale() and not await self._renew(self._held()):
            return None
        try:
            return await self.claimer.claim(n)
        except TRANSIENT as exc:
            log.warning("claim failed: %s", exc, extra={"worker": self.id})
            return None

    def _running_suspect(self) -> bool:
        return any(r.claimed.suspect and not r.done for r in self._running.values())

    async def _idle(self, claimed_some: bool) -> bool:
        """Wait for work; False when a burst worker has nothing left to do."""
        if (
            self.burst
            and not claimed_some
            and not self._running
            and not await self._more_work_expected()
        ):
            return False
        if claimed_some:
            return True
        waits = [asyncio.ensure_future(self.claimer.wait(self.settings.worker_poll_s)),
                 asyncio.ensure_future(self._stopping.wait())]
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
        return True

    async def _more_work_expected(self) -> bool:
        return await self.store.pending_work() > 0

    def _start(self, c: Claimed, now_us: int) -> None:
        ctx = JobContext(
            self.store, c.job_id, c.lease, c.attempt, c.owner,
            deadline=time.monotonic() + c.timeout_s, max_attempts=c.max_attempts,
        )
        r = _Running(c, ctx, time.monotonic())
        self._running[c.job_id] = r
        if c.attempt == 1:
            metrics.QUEUE_WAIT.labels(c.kind).observe(max(now_us - c.created_us, 0) / 1e6)
        r.task = asyncio.create_task(self._execute(r), name=f"job-{c.job_id}")

    # -- running ---------------------------------------------------------
    async def _execute(self, r: _Running) -> None:
        c = r.claimed
        extra = {"job_id": c.job_id, "attempt": c.attempt, "owner": c.owner, "kind": c.kind}
        log.info("job started", extra=extra)
        try:
            outcome = await self._outcome(r)
        except asyncio.CancelledError:
            if r.lost:
                self._forget(r)
                return
            raise
        except LeaseLost:
            r.lost = True
            self._forget(r)
            return
        if r.lost:
            self._forget(r)
            return
        metrics.JOB_DURATION.labels(c.kind).observe(time.monotonic() - r.started)
        state = outcome.ending.state.value
        log.info("job %s", state, extra={**extra, "state": state})
        r.done = True
        self._outcomes.append(outcome)
        self._flush_wanted.set()
        self._slot_freed.set()

    async def _outcome(self, r: _Running) -> Outcome:
        c = r.claimed
        handler = self.handlers.get(c.kind)
        timeout = asyncio.timeout(c.timeout_s)
        try:
            if handler is None:
                raise PermanentError(f"no handler for job kind {c.kind!r}", code=UNKNOWN_KIND)
            async with timeout:
                result = await handler(r.ctx, c.payload)
        except (LeaseLost, asyncio.CancelledError):
            raise
        except Exception as exc:
            return self._ended(c, *failure_of(c, exc, timeout.expired()))
        try:
            body = serde.dumps(result)
        except TypeError as exc:  # orjson's JSONEncodeError included
            return self._ended(c, Failure.BAD_RESULT, BAD_RESULT, str(exc), None)
        end = end_of_attempt(None, attempt=c.attempt, max_attempts=c.max_attempts)
        return Outcome(c.job_id, c.lease, end.ending, body, end.message)

    def _ended(
        self, c: Claimed, failure: Failure, code: str, detail: str, retry_after_s: float | None
    ) -> Outcome:
        s = self.settings
        end: AttemptEnd = end_of_attempt(
            failure, attempt=c.attempt, max_attempts=c.max_attempts, code=code, detail=detail,
            retry_after_s=retry_after_s,
            retry_delay_s=next_retry_delay(c.attempt, s.retry_base_s, s.retry_max_s),
        )
        return Outcome(c.job_id, c.lease, end.ending, serde.dumps(end.error), end.message,
                       end.retry_delay_s)

    def _forget(self, r: _Running) -> None:
        self._running.pop(r.claimed.job_id, None)
        self._slot_freed.set()
        self._lost(r.claimed)

    def _lost(self, c: Claimed) -> None:
        self.stats.lost += 1
        log.info("job lost its lease", extra={"job_id": c.job_id, "attempt": c.attempt,
                                               "owner": c.owner, "kind": c.kind})

    # -- background loops ------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            held = self._held()
            with contextlib.suppress(*TRANSIENT):  # operators see it live (/api/admin/workers)
                await self.store.register_worker(
                    WorkerCard(self.id, self.concurrency, list(held), self._started_at))
            await self._renew(held)

    def _held(self) -> dict[str, str]:
        return {j: r.claimed.lease for j, r in self._running.items() if not r.lost}

    def _leases_stale(self) -> bool:
        """A renewal was missed (Valkey was away): our leases may have lapsed."""
        s = self.settings
        overdue = time.monotonic() - self._renewed_at > min(2 * s.heartbeat_s, s.lease_s / 2)
        return overdue and any(not r.lost for r in self._running.values())

    async def _renew(self, held: dict[str, str]) -> bool:
        """Renew every lease held; stop the jobs whose lease is gone. False: Valkey failed."""
        if not held:
            self._renewed_at = time.monotonic()
            return True
        try:
            lost = await self.store.heartbeat(held)
        except TRANSIENT as exc:
            log.warning("heartbeat failed: %s", exc, extra={"worker": self.id})
            return False
        self._renewed_at = time.monotonic()
        for job_id in lost:
            r = self._running.get(job_id)
            if r is None:
                continue
            r.lost = True
            r.ctx.mark_cancelled()
            if r.task is not None and not r.done:  # a done one's write is fenced off
                r.task.cancel()
        return True

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted.clear()
            try:
                await self._flush_once()
            except TRANSIENT as exc:
                log.warning("writing results failed: %s; retrying", exc)
                await asyncio.sleep(0.2)
                self._flush_wanted.set()

    async def _flush_once(self) -> None:
        batch = list(self._outcomes)
        if not batch:
            return
        accepted = await self.store.finish_many(batch)
        del self._outcomes[: len(batch)]
        for o, ok in zip(batch, accepted, strict=True):
            r = self._running.pop(o.job_id, None)
            kind = r.claimed.kind if r else ""
            if not ok:  # its end came after the lease had gone (to a stopped clock, say)
                if r is not None:
                    self._lost(r.claimed)
                else:
                    self.stats.lost += 1
                continue
            self.stats.by_ending[o.ending] = self.stats.by_ending.get(o.ending, 0) + 1
            if o.ending is Ending.RETRY:
                self.stats.retried += 1
                metrics.JOBS_RETRIED.labels(kind).inc()
            else:
                metrics.JOBS_FINISHED.labels(kind, o.ending.state.value).inc()
                if o.ending is Ending.COMPLETE:
                    self.stats.completed += 1
                else:
                    self.stats.failed += 1
        if self.on_ended is not None:
            self.on_ended()
        self._slot_freed.set()

    async def _flush_all(self) -> None:
        for _ in range(50):
            if not self._outcomes:
                return
            try:
                await self._flush_once()
            except TRANSIENT:
                await asyncio.sleep(0.2)

