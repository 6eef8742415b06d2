"""Chaos around the hand-off: the database down while 1,000 jobs finish, the
archiver SIGKILLed between its database commit and marking the jobs done,
Valkey killed and restarted from its AOF. Each time every job ends up in
history exactly once and the outbox is empty."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from jobgate import metrics
from jobgate.embedded import EmbeddedValkey, free_port
from jobgate.history.archiver import Archiver
from jobgate.history.db import History, open_url
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.store.outbox import Outbox
from tests.helpers import make_settings
from tests.history.gates import writes_refused
from tests.history.helpers import archived_ids, finish_jobs, row_count
from tests.history.pg import PgServer
from tests.server import server_env

pytestmark = pytest.mark.chaos


def _pg(request: pytest.FixtureRequest, url: str) -> PgServer | None:
    return request.getfixturevalue("pg_server") if url.startswith("postgresql") else None


async def _until(check: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    """Poll an async or plain check until it is true; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        ok = check()
        if asyncio.iscoroutine(ok):
            ok = await ok
        if ok:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        await asyncio.sleep(0.05)


async def _no_ttl_left_unset(svc: Services, ids: list[str]) -> None:
    """Every archived job's keys expire (the TTL started), none earlier than archived."""
    async with svc.redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.pttl(svc.store.keys.job(job_id))
        ttls = await pipe.execute()
    assert all(t > 0 for t in ttls), Counter(t if t <= 0 else "set" for t in ttls)


@pytest.fixture
async def busy(valkey: EmbeddedValkey, namespace: str, tmp_path: Path,
               database_url: str) -> AsyncIterator[Services]:
    """Services allowing 1,000 active jobs for one owner, archiving into `database_url`."""
    s = make_settings(valkey.url, namespace, tmp_path, max_active_jobs_per_user=5000,
                      database_url=database_url, archive_poll_s=0.05, archive_batch=200)
    svc = await Services.open(s)
    yield svc
    await svc.close()


async def test_database_down_while_1000_jobs_finish(
    busy: Services, history: History, database_url: str, request: pytest.FixtureRequest
) -> None:
    pg = _pg(request, database_url)
    arch_db = open_url(database_url, sqlite_busy_ms=50)
    archiver = Archiver(busy.store, busy.settings, arch_db)
    errors_before = _db_errors()
    archiver.start()
    try:
        async with writes_refused(database_url, history, pg, stop_server=True):
            ids = await finish_jobs(busy, 1000)
            assert await _outboxed(busy) == 1000  # all waiting, none lost
            await archiver.refresh_gauges()
            assert metrics.OUTBOX_LENGTH._value.get() == 1000
            assert metrics.ARCHIVE_LAG._value.get() > 0
            job_ttls = [await busy.redis.ttl(busy.store.keys.job(j)) for j in ids[::50]]
            assert job_ttls == [-1] * len(job_ttls)  # Valkey keeps them: no TTL yet
            await _until(lambda: _db_errors() > errors_before, what="a database error counted")
        await _until(lambda: _zero(busy), timeout=90, what="the outbox to drain")
    finally:
        await archiver.stop()
        await arch_db.close()
    assert Counter(await archived_ids(history)) == Counter(ids)
    await _no_ttl_left_unset(busy, ids)


def _db_errors() -> float:
    return sum(metrics.DATABASE_ERRORS.labels(op)._value.get()
               for op in ("archive", "upgrade", "prune"))


async def _outboxed(svc: Services) -> int:
    return (await Outbox(svc.store).state()).length


async def _zero(svc: Services) -> bool:
    return await _outboxed(svc) == 0


def _archiver_proc(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = server_env(settings.redis_url or "", settings.namespace, settings.data_dir,
                     JOBGATE_DATABASE_URL=settings.database_url or "",
                     JOBGATE_ARCHIVE_BATCH="100", JOBGATE_ARCHIVE_POLL_S="0.05",
                     JOBGATE_LOG_LEVEL="INFO")
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "jobgate.cli", "archiver"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def test_archiver_killed_between_commit_and_marking(
    busy: Services, history: History, database_url: str, request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """The worst moment to die: the batch is committed in SQL, the jobs still in the
    outbox. Held there by the test (Valkey writes paused), then SIGKILL."""
    pg = _pg(request, database_url)
    ids = await finish_jobs(busy, 300)
    r, keys = busy.redis, busy.store.keys
    log = tmp_path / "archiver.log"
    first = _archiver_proc(busy.settings, log)
    paused = False
    try:
        async with writes_refused(database_url, history, pg, stop_server=False):
            await _until(lambda: r.exists(keys.archiver), what="the archiver's lease")
            await r.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")  # marking will wait
            paused = True
        # the database is open again: the first batch commits, its marking cannot
        await _until(lambda: _rows_at_least(history, 100), what="the first batch committed")
        assert await _outboxed(busy) == 300
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if paused:
            await r.execute_command("CLIENT", "UNPAUSE")
        first.kill()
    assert await row_count(history) == 100, log.read_text()[-2000:]
    second = _archiver_proc(busy.settings, log)  # takes over once the dead one's lease lapses
    try:
        await _until(lambda: _zero(busy), timeout=60, what="the takeover drain")
    finally:
        second.terminate()
        second.wait(10)
    assert Counter(await archived_ids(history)) == Counter(ids), log.read_text()[-2000:]
    await _no_ttl_left_unset(busy, ids)


async def _rows_at_least(history: History, n: int) -> bool:
    return await row_count(history) >= n


async def test_valkey_restarted_from_its_aof_loses_nothing(
    history: History, database_url: str, tmp_path: Path, namespace: str
) -> None:
    port = free_port()
    server = EmbeddedValkey(tmp_path / "valkey", port=port, persistence=True,
                            appendfsync="always")
    url = server.start()
    s = make_settings(url, namespace, tmp_path, max_active_jobs_per_user=5000,
                      database_url=database_url, archive_batch=40)
    try:
        svc = await Services.open(s)
        ids = await finish_jobs(svc, 100)
        await Archiver(svc.store, s, history).drain_batch()  # 40 archived, 60 waiting
        await svc.close()
        server.kill()
        server = EmbeddedValkey(tmp_path / "valkey", port=port, persistence=True,
                                appendfsync="always")
        server.start(timeout=30)
        svc = await Services.open(s)
        assert await _outboxed(svc) == 60
        assert await Archiver(svc.store, s, history).drain() == 60
        assert Counter(await archived_ids(history)) == Counter(ids)
        await _no_ttl_left_unset(svc, ids)
        await svc.close()
    finally:
        server.stop()

