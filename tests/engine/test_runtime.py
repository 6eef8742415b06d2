"""The wiring root (runtime.py): one set of services per process, closed in order,
and settings that cannot change once a process holds them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jobgate import runtime
from jobgate.context import JobContext
from jobgate.embedded import EmbeddedValkey
from jobgate.job import JobState
from jobgate.runtime import Roles, open_runtime
from jobgate.services import Services
from jobgate.settings import Settings
from tests.helpers import make_settings
from tests.server import server_env


def test_settings_cannot_be_changed_once_built(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, shutdown_grace_s=20.0)
    with pytest.raises(ValidationError, match="frozen"):
        s.redis_url = "redis://elsewhere:6379"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        s.shutdown_grace_s = 2.0  # type: ignore[misc]
    final = s.model_copy(update={"shutdown_grace_s": 2.0, "redis_url": "redis://here:6379"})
    assert (final.shutdown_grace_s, final.redis_url) == (2.0, "redis://here:6379")
    assert (s.shutdown_grace_s, s.redis_url) == (20.0, None)


async def test_a_burst_runtime_runs_every_job_on_every_worker_then_ends(
    settings: Settings, services: Services
) -> None:
    async def echo(ctx: JobContext, payload: Any) -> Any:
        return payload

    ids = [(await services.store.enqueue("echo", "alice", i)).job_id for i in range(6)]
    roles = Roles(workers=2, concurrency=2, burst=True, handlers=lambda _h: {"echo": echo})
    rt = await asyncio.wait_for(runtime.run(settings, roles), 120)
    assert sum(w.stats.completed for w in rt.workers) == 6
    for i, job_id in enumerate(ids):
        job = await services.store.get(job_id)
        assert job is not None and job.state is JobState.COMPLETED and job.result == i


async def test_closing_writes_a_result_that_ends_within_the_grace(
    settings: Settings, services: Services
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def held(ctx: JobContext, payload: Any) -> str:
        started.set()
        await release.wait()
        return "done"

    enq = await services.store.enqueue("held", "alice", None)
    final = settings.model_copy(update={"shutdown_grace_s": 60.0})
    async with open_runtime(final, Roles(workers=1, handlers=lambda _h: {"held": held})) as rt:
        rt.start()
        await asyncio.wait_for(started.wait(), 30)
        rt.request_stop()  # stops claiming; the running job has its grace
        release.set()
    # the runtime closed its store only after the worker wrote the result
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED and job.result == "done"


async def test_closing_hands_back_a_job_that_outlives_the_grace(
    settings: Settings, services: Services
) -> None:
    started = asyncio.Event()

    async def endless(ctx: JobContext, payload: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    enq = await services.store.enqueue("endless", "alice", None)
    final = settings.model_copy(update={"shutdown_grace_s": 0.2})
    roles = Roles(workers=1, handlers=lambda _h: {"endless": endless})
    async with open_runtime(final, roles) as rt:
        rt.start()
        await asyncio.wait_for(started.wait(), 30)
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.PENDING and job.attempt == 0
    assert job.message == "worker shutting down; requeued"


async def test_the_worker_command_in_burst_mode_drains_the_queue_and_exits(
    valkey: EmbeddedValkey, namespace: str, tmp_path: Path
) -> None:
    svc = await Services.open(make_settings(valkey.url, namespace, tmp_path))
    try:
        ids = [(await svc.store.enqueue("noop", "alice", {"n": i})).job_id for i in range(3)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jobgate.cli", "worker", "--burst", "--concurrency", "2",
            env=server_env(valkey.url, namespace, tmp_path / "worker"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 100)
        assert proc.returncode == 0, out.decode()[-3000:]
        for i, job_id in enumerate(ids):
            job = await svc.store.get(job_id)
            assert job is not None and job.state is JobState.COMPLETED
            assert job.result == {"n": i}
    finally:
        await svc.close()


async def test_an_idle_archiver_archives_what_its_own_workers_end_at_once(
    settings: Settings, services: Services
) -> None:
    """Polls 30 s apart (and more, idle): the job is archived only if the worker's
    end wakes the archiver of its process."""
    from jobgate.history import repo

    async def echo(ctx: JobContext, payload: Any) -> Any:
        return payload

    slow = settings.model_copy(update={"archive_poll_s": 30.0})
    roles = Roles(workers=1, handlers=lambda _h: {"echo": echo})
    async with open_runtime(slow, roles) as rt:
        assert rt.archiver is not None
        rt.start()
        for _ in range(600):  # its first poll found nothing: now it backs off
            if rt.archiver._idle:
                break
            await asyncio.sleep(0.05)
        assert rt.archiver._idle, "the archiver's first poll"
        job_id = (await services.store.enqueue("echo", "alice", 7)).job_id
        for _ in range(400):  # 20 s, well inside the next poll (60 s)
            if await repo.get_job(rt.history, job_id, "alice") is not None:
                break
            await asyncio.sleep(0.05)
        row = await repo.get_job(rt.history, job_id, "alice")
        assert row is not None and row.status == "completed"


async def test_workers_leave_archiving_to_archiver_processes_when_told(
    settings: Settings, services: Services
) -> None:
    """JOBGATE_ARCHIVE_IN_WORKERS=false: a worker process opens no archiver, its ended
    jobs wait in the outbox, and an archiver process copies them."""
    from jobgate.history import repo
    from jobgate.store.outbox import Outbox

    async def echo(ctx: JobContext, payload: Any) -> Any:
        return payload

    apart = settings.model_copy(update={"archive_in_workers": False})
    job_id = (await services.store.enqueue("echo", "alice", 3)).job_id
    roles = Roles(workers=1, burst=True, handlers=lambda _h: {"echo": echo})
    rt = await asyncio.wait_for(runtime.run(apart, roles), 120)
    assert rt.archiver is None and rt.workers[0].stats.completed == 1
    assert job_id in await Outbox(services.store).ids()
    async with open_runtime(apart, Roles(archiver=True, burst=True)) as arch:
        assert arch.archiver is not None
        await arch.run()
        row = await repo.get_job(arch.history, job_id, "alice")
    assert row is not None and row.status == "completed"
    assert job_id not in await Outbox(services.store).ids()
