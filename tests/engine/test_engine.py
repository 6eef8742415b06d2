"""Every state transition against a real Valkey, each test in its own namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jobgate import serde
from jobgate.context import JobContext
from jobgate.errors import LeaseLost, PermanentError, RetryableError, TooManyActiveJobs
from jobgate.job import Ending, JobState, Priority
from jobgate.services import Services
from jobgate.store.jobs import Outcome
from tests.helpers import drain


async def echo(ctx: JobContext, payload: Any) -> Any:
    await ctx.progress(0.5, "half way", {"agent": "echo", "index": 1, "total": 2})
    await ctx.event("agent_output", {"agent": "echo", "response": "hi"})
    return {"echo": payload, "attempt": ctx.attempt}


async def test_job_runs_to_completion_with_events(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("echo", "alice", {"q": 1})
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.PENDING and job.attempt == 0

    await drain(services, {"echo": echo})

    job = await store.get(enq.job_id)
    assert job is not None
    assert job.state is JobState.COMPLETED
    assert job.result == {"echo": {"q": 1}, "attempt": 1}
    assert job.progress == 1.0 and job.completed_us and job.completed_us >= job.created_us
    events = await store.events_after(enq.job_id, None)
    kinds = [(e.type, e.data.get("status")) for e in events]
    assert kinds == [
        ("state", "pending"), ("state", "processing"), ("progress", None),
        ("agent_output", None), ("state", "completed"),
    ]
    # resuming after an id returns exactly what follows it
    rest = await store.events_after(enq.job_id, events[2].id)
    assert [e.id for e in rest] == [e.id for e in events[3:]]
    # nothing left behind but the job's own keys, waiting in the archive outbox
    # with no TTL: the archiver starts it once the job is in history (tests/history)
    r, p = services.redis, store.keys.partition_of_owner("alice")
    assert await r.zcard(store.keys.leases(p)) == 0
    assert await r.zcard(store.keys.active(p)) == 0
    assert await r.zscore(store.keys.outbox(p), enq.job_id) == job.completed_us
    assert await r.ttl(store.keys.job(enq.job_id)) == -1


async def test_priority_order(services: Services) -> None:
    order: list[str] = []

    async def record(ctx: JobContext, payload: Any) -> None:
        order.append(payload)

    store = services.store
    for name, prio in [("low1", Priority.LOW), ("n1", Priority.NORMAL),
                       ("high1", Priority.HIGH), ("n2", Priority.NORMAL)]:
        await store.enqueue("rec", "u", name, priority=prio)
    await drain(services, {"rec": record}, concurrency=1)
    assert order == ["high1", "n1", "n2", "low1"]


async def test_idempotency_key_maps_to_one_job_per_owner(services: Services) -> None:
    store = services.store
    a = await store.enqueue("echo", "alice", 1, idempotency_key="k1")
    b = await store.enqueue("echo", "alice", 1, idempotency_key="k1")
    c = await store.enqueue("echo", "bob", 1, idempotency_key="k1")
    assert a.job_id == b.job_id and b.duplicate and not a.duplicate
    assert c.job_id != a.job_id and not c.duplicate


async def test_active_job_cap(services: Services) -> None:
    store = services.store
    cap = services.settings.max_active_jobs_per_user
    ids = [(await store.enqueue("echo", "alice", i)).job_id for i in range(cap)]
    with pytest.raises(TooManyActiveJobs):
        await store.enqueue("echo", "alice", "one too many")
    await store.enqueue("echo", "bob", "others unaffected")
    await store.cancel(ids[0], "alice")
    await store.enqueue("echo", "alice", "room again")


async def test_cancel_pending_is_immediate_and_skipped_by_workers(services: Services) -> None:
    ran: list[Any] = []

    async def record(ctx: JobContext, payload: Any) -> None:
        ran.append(payload)

    store = services.store
    enq = await store.enqueue("rec", "alice", "x")
    assert await store.cancel(enq.job_id, "alice") == "pending"
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.CANCELLED
    assert await store.cancel(enq.job_id, "alice") == "cancelled"  # idempotent
    await drain(services, {"rec": record})
    assert ran == []


async def test_cancel_running_reaches_the_handler(services: Services) -> None:
    """The handler is cancelled in its 30 s sleep: the worker is done long before."""
    started = asyncio.Event()
    stopped: list[float] = []

    async def slow(ctx: JobContext, payload: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(asyncio.get_running_loop().time())
            raise

    store = services.store
    enq = await store.enqueue("slow", "alice", None)
    worker_task = asyncio.create_task(drain(services, {"slow": slow}))
    await asyncio.wait_for(started.wait(), 20)
    await store.cancel(enq.job_id, "alice")
    await asyncio.wait_for(worker_task, 20)
    assert stopped, "the handler was never cancelled"
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.CANCELLED and job.result is None


async def test_retryable_errors_back_off_then_succeed(services: Services) -> None:
    async def flaky(ctx: JobContext, payload: Any) -> str:
        if ctx.attempt < 3:
            raise RetryableError(f"upstream 503 on attempt {ctx.attempt}", code="upstream")
        return "ok"

    store = services.store
    enq = await store.enqueue("flaky", "alice", None)
    await drain(services, {"flaky": flaky})
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED
    assert job.attempt == 3 and job.result == "ok"
    statuses = [e.data["status"] for e in await store.events_after(enq.job_id, None)
                if e.type == "state"]
    assert statuses == ["pending", "processing", "pending", "processing", "pending",
                        "processing", "completed"]


async def test_retries_exhausted_fail_with_reason_and_dead_letter(services: Services) -> None:
    async def always(ctx: JobContext, payload: Any) -> None:
        raise RetryableError("upstream keeps failing", code="upstream")

    store = services.store
    enq = await store.enqueue("always", "alice", None)
    await drain(services, {"always": always})
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.FAILED and job.attempt == 3
    assert job.error is not None and job.error["code"] == "upstream"
    assert "gave up after 3 of 3 attempts" in job.error["message"]
    dead = store.keys.dead(store.keys.partition_of_owner("alice"))
    assert await services.redis.zscore(dead, enq.job_id) is not None


async def test_permanent_error_fails_at_once(services: Services) -> None:
    async def bad(ctx: JobContext, payload: Any) -> None:
        raise PermanentError("invalid API key", code="llm_auth")

    enq = await services.store.enqueue("bad", "alice", None)
    await drain(services, {"bad": bad})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.FAILED and job.attempt == 1
    assert job.error == {"code": "llm_auth", "message": "invalid API key"}


async def test_unexpected_exception_and_unknown_kind(services: Services) -> None:
    async def boom(ctx: JobContext, payload: Any) -> None:
        raise ValueError("bug")

    a = await services.store.enqueue("boom", "alice", None)
    b = await services.store.enqueue("nobody-handles-this", "alice", None)
    await drain(services, {"boom": boom})
    ja, jb = await services.store.get(a.job_id), await services.store.get(b.job_id)
    assert ja is not None and ja.error == {"code": "internal_error", "message": "ValueError: bug"}
    assert jb is not None and jb.error is not None and jb.error["code"] == "unknown_kind"


async def test_timeout_fails_with_timeout(services: Services) -> None:
    async def forever(ctx: JobContext, payload: Any) -> None:
        await asyncio.sleep(60)

    enq = await services.store.enqueue("forever", "alice", None, timeout_s=0.3)
    await drain(services, {"forever": forever})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error is not None and job.error["code"] == "timeout"


async def test_datetimes_and_models_serialise(services: Services) -> None:
    from datetime import UTC, datetime

    from jobgate.models import Step

    async def dated(ctx: JobContext, payload: Any) -> Any:
        return {"at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "step": Step(agent="a")}

    enq = await services.store.enqueue("dated", "alice", None)
    await drain(services, {"dated": dated})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED
    assert job.result["at"] == "2026-01-02T03:04:05.000006+00:00"
    assert job.result["step"]["agent"] == "a"


async def test_unserialisable_result_fails_clearly(services: Services) -> None:
    async def weird(ctx: JobContext, payload: Any) -> Any:
        return {"x": object()}

    enq = await services.store.enqueue("weird", "alice", None)
    await drain(services, {"weird": weird})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.error is not None and job.error["code"] == "bad_result"


async def test_fencing_rejects_a_stale_lease(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("x", "alice", None)
    first = (await store.claim("w1", 1)).jobs[0]
    # w1 stops renewing; after the lease lapses, w2's claim reclaims the job
    await asyncio.sleep(services.settings.lease_s + 0.1)
    seen, _ = await store.get_with_time(enq.job_id)
    batch = await store.claim("w2", 1)
    assert batch.reclaimed == 1
    second = batch.jobs[0]
    assert second.job_id == enq.job_id and second.attempt == 2 and second.lease != first.lease
    with pytest.raises(LeaseLost):
        await store.progress(enq.job_id, first.lease, 0.9, "zombie", None)
    ok = await store.finish_many([Outcome(enq.job_id, first.lease, Ending.COMPLETE, '"zombie"')])
    assert ok == [False]
    assert await store.heartbeat({enq.job_id: first.lease}) == [enq.job_id]
    ok = await store.finish_many([Outcome(enq.job_id, second.lease, Ending.COMPLETE, '"real"')])
    assert ok == [True]
    job = await store.get(enq.job_id)
    assert job is not None and job.result == "real" and job.attempt == 2
    assert seen is not None


async def test_orphan_is_visible_before_any_worker_reclaims_it(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("x", "alice", None)
    await store.claim("w1", 1)
    await asyncio.sleep(services.settings.lease_s + 0.1)
    job, now = await store.get_with_time(enq.job_id)
    assert job is not None and job.state is JobState.PROCESSING
    seen = job.as_seen(now)
    assert seen.state is JobState.PENDING and seen.message == "worker lost; retrying"


async def test_lost_worker_exhausting_attempts_fails_with_worker_lost(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("x", "alice", None, max_attempts=1)
    await store.claim("w1", 1)
    await asyncio.sleep(services.settings.lease_s + 0.1)
    batch = await store.claim("w2", 1)
    assert batch.gave_up == 1 and batch.jobs == []
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error is not None and job.error["code"] == "worker_lost"


async def test_heartbeat_keeps_a_long_job_alive(services: Services) -> None:
    lease = services.settings.lease_s

    async def long(ctx: JobContext, payload: Any) -> str:
        await asyncio.sleep(lease * 2.5)
        return "done"

    enq = await services.store.enqueue("long", "alice", None)
    w = await drain(services, {"long": long})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED and job.attempt == 1
    assert w.stats.lost == 0


async def test_graceful_shutdown_hands_back_unfinished_jobs(services: Services) -> None:
    from jobgate.worker import Worker

    started = asyncio.Event()

    async def long(ctx: JobContext, payload: Any) -> str:
        started.set()
        await asyncio.sleep(60)
        return "never"

    settings = services.settings.model_copy(update={"shutdown_grace_s": 0.2})
    store = services.store
    enq = await store.enqueue("long", "alice", None)
    w = Worker(store, {"long": long}, settings)
    run = asyncio.create_task(w.run())
    await asyncio.wait_for(started.wait(), 5)
    w.request_stop()
    await asyncio.wait_for(run, 10)
    assert w.stats.handed_back == 1
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.PENDING
    assert job.attempt == 0 and job.message == "worker shutting down; requeued"
    leases = store.keys.leases(store.keys.partition_of_owner("alice"))
    assert await services.redis.zcard(leases) == 0
    # another worker takes it at once, as attempt 1 again

    async def quick(ctx: JobContext, payload: Any) -> int:
        return ctx.attempt

    await drain(services, {"long": quick})
    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED and job.result == 1


async def test_shutdown_hands_back_a_job_that_swallowed_its_cancel(services: Services) -> None:
    """Python 3.11's wait_for (redis-py writes with it) can drop a cancel that lands as
    its call completes; the worker cancels again rather than wait for the job to end."""
    from jobgate.worker import Worker

    started = asyncio.Event()
    swallowed: list[bool] = []

    async def stubborn(ctx: JobContext, payload: Any) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            swallowed.append(True)  # as wait_for does: carry on as if nothing happened
        await asyncio.sleep(60)
        return "never"

    settings = services.settings.model_copy(update={"shutdown_grace_s": 0.2})
    enq = await services.store.enqueue("stubborn", "alice", None)
    w = Worker(services.store, {"stubborn": stubborn}, settings)
    run = asyncio.create_task(w.run())
    await asyncio.wait_for(started.wait(), 20)
    w.request_stop()
    await asyncio.wait_for(run, 20)  # long before the handler's 60 s
    assert swallowed and w.stats.handed_back == 1
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.PENDING and job.attempt == 0


async def test_notifier_wakes_local_waiters(services: Services) -> None:
    services.notifier.start()
    await asyncio.wait_for(services.notifier.connected.wait(), 5)
    store = services.store
    enq = await store.enqueue("echo", "alice", 1)
    with services.notifier.watch(enq.job_id) as w1, services.notifier.watch(enq.job_id) as w2:
        assert services.notifier.waiters == 2
        claimed = (await store.claim("w", 1)).jobs[0]
        assert await w1.wait(2) and await w2.wait(2)
        await store.progress(enq.job_id, claimed.lease, 0.5, "m", None)
        assert await w1.wait(2)
        assert not await w1.wait(0.2)  # nothing new
        with services.notifier.watch(enq.job_id, status_only=True) as st:
            await store.append_event(enq.job_id, claimed.lease, "token", {"text": "t"})
            assert await w1.wait(2)  # an event reader wakes for every event...
            assert not await st.wait(0.3)  # ...a status watcher not for a token
            await store.progress(enq.job_id, claimed.lease, 0.6, "m", None)
            assert await st.wait(2)
    assert services.notifier.waiters == 0


async def test_list_jobs_newest_first_with_cursor(services: Services) -> None:
    store = services.store
    ids = [(await store.enqueue("echo", "alice", i)).job_id for i in range(5)]
    await store.enqueue("echo", "bob", "not alice's")
    page1, cur, _ = await store.list_jobs("alice", 2)
    page2, cur2, _ = await store.list_jobs("alice", 2, cur)
    page3, cur3, _ = await store.list_jobs("alice", 2, cur2)
    got = [j.id for j in page1 + page2 + page3]
    assert got == list(reversed(ids)) and cur3 is None


async def test_payload_is_json_not_pickle(services: Services) -> None:
    enq = await services.store.enqueue("echo", "alice", {"a": [1, 2]})
    raw = await services.redis.hget(services.store.keys.job(enq.job_id), "payload")
    assert serde.loads(raw) == {"a": [1, 2]}
