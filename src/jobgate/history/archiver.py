"""The archiver: drains the Valkey outbox into the SQL history, losing nothing.

Order of a batch: read the oldest outbox entries and their jobs → upsert
them (one transaction) → only then start their result TTL and take them off
the outbox (store/lua/archived.lua). A crash anywhere leaves the jobs in the
outbox with no TTL; the next archiver upserts them again, which is harmless
(keyed by job id). The database down: batches fail, are retried with
backoff, and the jobs wait in Valkey, however many. Past
`archive_outbox_alert` nothing is dropped: a gauge says so, for an alert.

One archiver drains at a time (a lease in Valkey, renewed per batch); every
worker process runs one, so a standby takes over when the holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from jobgate import metrics
from jobgate.history import repo
from jobgate.history.db import History, upgrade_engine
from jobgate.history.record import row_values
from jobgate.job import next_retry_delay
from jobgate.settings import Settings
from jobgate.store.connection import TRANSIENT
from jobgate.store.jobs import JobStore
from jobgate.store.outbox import Outbox, Pending

IDLE_BACKOFF = 8  # an idle archiver polls at most this many times more rarely
log = logging.getLogger(__name__)
STOP_GRACE_S = 5.0
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _connection_trouble(exc: SQLAlchemyError) -> bool:
    """Whether the database itself is unreachable (retry all) rather than a row refused."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class DatabaseDown(Exception):
    """The history database failed outside SQLAlchemy's own errors (a driver's
    socket error on connect, say); the jobs stay in the outbox."""


async def _counted(op: str, call: Awaitable[T]) -> T:
    """Await a database call; count any failure under `op` (metrics) and re-raise it."""
    try:
        return await call
    except SQLAlchemyError:
        metrics.DATABASE_ERRORS.labels(op).inc()
        raise
    except Exception as exc:
        metrics.DATABASE_ERRORS.labels(op).inc()
        raise DatabaseDown(f"{type(exc).__name__}: {exc}") from exc


class Archiver:
    def __init__(self, store: JobStore, settings: Settings, history: History) -> None:
        self.settings = settings
        self.history = history
        self.outbox = Outbox(store)
        self.token = secrets.token_hex(8)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # a stop, or jobs ended in this process
        self._idle = 0  # polls in a row that found nothing
        self._refused: set[str] = set()  # rows the database refuses on their own
        self._failures = 0
        self._pruned_at = 0.0
        self._over = False
        self._schema_ok = False
        self._task: asyncio.Task[None] | None = None

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def poke(self) -> None:
        """Jobs ended in this process: an idle archiver (backing off) archives them
        now; a busy one at its next poll, so it keeps its batches."""
        if self._idle:
            self._wake.set()

    async def drain_batch(self) -> int:
        """Archive the oldest batch; the number of jobs taken off the outbox."""
        n = self.settings.archive_batch
        batch = [p for p in await self.outbox.peek(n + len(self._refused))
                 if p.job_id not in self._refused][:n]
        if not batch:
            return 0
        done = await self._write(batch)
        return await self.outbox.archived(done)

    async def _write(self, batch: list[Pending]) -> list[str]:
        """Upsert the batch; the ids now safely in history (or gone from Valkey)."""
        now = _now()
        rows = [row_values(p.job, now) for p in batch if p.job is not None and p.job.terminal]
        missing = [p.job_id for p in batch if p.job is None]
        if missing:  # deleted by hand or evicted: nothing left to archive
            metrics.ARCHIVE_MISSING.inc(len(missing))
            log.error("outbox jobs gone from Valkey before archiving", extra={"n": len(missing)})
        try:
            await _counted("archive", repo.upsert_jobs(self.history, rows))
        except SQLAlchemyError as exc:
            if _connection_trouble(exc) or len(rows) <= 1:
                self._note_refused(rows, exc)
                raise
            return missing + await self._one_by_one(rows)
        metrics.ARCHIVED.inc(len(rows))
        return missing + [v["job_id"] for v, _ in rows]

    async def _one_by_one(self, rows: list[tuple[dict[str, object], list[str]]]) -> list[str]:
        """A batch the database refused: write the rows apart, so one bad row blocks none."""
        done = []
        for row in rows:
            try:
                await _counted("archive", repo.upsert_jobs(self.history, [row]))
            except SQLAlchemyError as exc:
                if _connection_trouble(exc):
                    raise
                self._note_refused([row], exc)
                continue
            metrics.ARCHIVED.inc()
            done.append(str(row[0]["job_id"]))
        return done

    def _note_refused(self, rows: list[tuple[dict[str, object], list[str]]],
                      exc: SQLAlchemyError) -> None:
        """A row refused for itself stays in the outbox (kept, never dropped) and is
        skipped by this process until it restarts; the error says which."""
        if len(rows) == 1 and not _connection_trouble(exc):
            job_id = str(rows[0][0]["job_id"])
            self._refused.add(job_id)
            log.error("history refused a job; it stays in the outbox",
                      extra={"job_id": job_id, "error": str(exc)[:500]})

    async def drain(self) -> int:
        """Archive until the outbox is empty (tests, `jobgate archiver --burst`)."""
        total = 0
        while n := await self.drain_batch():
            total += n
        return total

    async def refresh_gauges(self) -> None:
        st = await self.outbox.state()
        metrics.OUTBOX_LENGTH.set(st.length)
        lag = (st.now_us - st.oldest_us) / 1e6 if st.oldest_us is not None else 0.0
        metrics.ARCHIVE_LAG.set(max(lag, 0.0))
        over = st.length > self.settings.archive_outbox_alert
        if over and not self._over:
            log.warning("archive outbox past its alert length; jobs are kept in Valkey",
                        extra={"length": st.length})
        self._over = over
        metrics.OUTBOX_OVER_LIMIT.set(1 if over else 0)

    async def prune_if_due(self) -> int:
        loop = asyncio.get_running_loop()
        if self._pruned_at and loop.time() - self._pruned_at < self.settings.archive_prune_every_s:
            return 0
        self._pruned_at = loop.time()
        cutoff = _now() - timedelta(days=self.settings.history_retention_days)
        n = await _counted("prune", repo.prune(self.history, cutoff))
        metrics.HISTORY_PRUNED.inc(n)
        return n

    async def step(self) -> int:
        """One round: hold the lease, drain what is there, prune when due."""
        if not await self.outbox.lease(self.token, self.settings.lease_ms):
            return 0
        if not self._schema_ok and self.settings.database_auto_upgrade:
            await _counted("upgrade", upgrade_engine(self.history.engine))
        self._schema_ok = True
        total = 0
        while not self._stop.is_set():
            n = await self.drain_batch()
            total += n
            if n < self.settings.archive_batch:
                break
            await self.outbox.lease(self.token, self.settings.lease_ms)
        await self.prune_if_due()
        return total

    async def run(self) -> None:
        """Until `request_stop`: a step every `archive_poll_s`, backing off on errors
        and while idle (up to IDLE_BACKOFF polls apart: each poll reads every
        partition); `poke` wakes it."""
        try:
            while not self._stop.is_set():
                pause = self.settings.archive_poll_s
                try:
                    self._idle = 0 if await self.step() else self._idle + 1
                    await self.refresh_gauges()
                    self._failures = 0
                    pause *= min(2 ** self._idle, IDLE_BACKOFF)
                except Exception as exc:  # must outlive any outage of either side
                    self._failures += 1
                    where = "history database" if isinstance(
                        exc, SQLAlchemyError | DatabaseDown) else "Valkey"
                    log.warning(f"{where} unavailable; jobs wait in the outbox",
                                extra={"error": str(exc)[:300]})
                    with contextlib.suppress(*TRANSIENT):
                        await self.refresh_gauges()
                    pause = max(pause, next_retry_delay(
                        self._failures, self.settings.retry_base_s, self.settings.retry_max_s))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)
                self._wake.clear()
        finally:
            with contextlib.suppress(*TRANSIENT):
                await self.outbox.release(self.token)

    def start(self) -> None:
        """Run in the background of this process (workers, `jobgate up`)."""
        self._task = asyncio.create_task(self.run(), name="archiver")

    async def stop(self) -> None:
        """Finish the batch in hand (briefly), release the lease; the rest waits in the
        outbox. A batch cut short is safe: nothing is marked before its commit."""
        self.request_stop()
        if self._task is None:
            return
        await asyncio.wait({self._task}, timeout=STOP_GRACE_S)
        while not self._task.done():  # a database that hangs must not hold up shutdown
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=0.1)
