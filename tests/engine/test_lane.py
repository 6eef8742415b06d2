"""The enqueue lane against a real Valkey: group commit, resends, a forgotten script."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from jobgate.job import Priority
from jobgate.services import Services
from jobgate.store.jobs import FIRST_EVENT


def _args(job_id: str, owner: str = "alice") -> list[str | int | float]:
    return [job_id, "echo", owner, "normal", "{}", 3, 60.0, "", "", "lane-test:notify"]


async def test_a_resent_enqueue_is_one_job(services: Services) -> None:
    """A call resent after a dropped connection may have run: the second run is a no-op."""
    store, r, k = services.store, services.redis, services.store.keys
    first = await store._enqueue(_args("a" * 32))
    again = await store._enqueue(_args("a" * 32))
    assert first[0] == "ok" and again == ["dup", "a" * 32]
    assert await r.lrange(k.queue(Priority.NORMAL), 0, -1) == ["a" * 32]
    assert await r.scard(k.active("alice")) == 1 and await r.zcard(k.owner_jobs("alice")) == 1


async def test_concurrent_enqueues_all_land_once(services: Services) -> None:
    store = services.store
    got = await asyncio.gather(*(store.enqueue("echo", f"u{i % 20}", i) for i in range(300)))
    ids = {e.job_id for e in got}
    assert len(ids) == 300 and not any(e.duplicate for e in got)
    queued = await services.redis.lrange(store.keys.queue(Priority.NORMAL), 0, -1)
    assert sorted(queued) == sorted(ids)
    jobs = [await store.get(e.job_id) for e in got]
    assert sorted(j.payload for j in jobs if j is not None) == list(range(300))


async def test_the_lane_reconnects_after_its_connection_is_killed(services: Services) -> None:
    store, r = services.store, services.redis
    await store.enqueue("echo", "alice", 1)
    clients = await r.client_list()
    lane = [c for c in clients if c.get("name") == "jobgate-lane"]
    assert len(lane) == 1, clients
    await r.client_kill_filter(_id=lane[0]["id"])
    enq = await store.enqueue("echo", "alice", 2)  # the dead socket is found and replaced
    job = await store.get(enq.job_id)
    assert job is not None and job.payload == 2


async def test_the_lane_reloads_a_script_the_server_forgot(services: Services) -> None:
    store = services.store
    await services.redis.script_flush()
    results = await asyncio.gather(*(store.enqueue("echo", "alice", i) for i in range(20)))
    assert len({e.job_id for e in results}) == 20


async def test_a_script_error_reaches_only_its_caller(services: Services) -> None:
    """Calls sent in one round trip fail alone: carol's active set is not a set."""
    store = services.store
    await services.redis.set(store.keys.active("carol"), "not a set")
    alice, carol, bob = await asyncio.gather(
        store.enqueue("echo", "alice", 1),  # goes at once
        store.enqueue("echo", "carol", 2),  # these two share the next round trip
        store.enqueue("echo", "bob", 3),
        return_exceptions=True,
    )
    assert isinstance(carol, ResponseError) and "WRONGTYPE" in str(carol)
    for ok in (alice, bob):
        assert not isinstance(ok, BaseException)
        assert await store.get(ok.job_id) is not None
    with pytest.raises(ResponseError):
        await store.enqueue("echo", "carol", 4)


async def test_the_claim_that_empties_the_queue_clears_wake_tokens(services: Services) -> None:
    store, r = services.store, services.redis
    for i in range(5):
        await store.enqueue("echo", "alice", i)
    assert await r.llen(store.keys.wake) == 5
    batch = await store.claim("w1", 3)
    assert len(batch.jobs) == 3 and await r.llen(store.keys.wake) == 5  # jobs left: keep them
    batch = await store.claim("w1", 3)
    assert len(batch.jobs) == 2 and await r.llen(store.keys.wake) == 0


async def test_the_first_event_is_pending_without_being_stored(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("echo", "alice", 1)
    assert await services.redis.exists(store.keys.events(enq.job_id)) == 0
    assert await store.events_after(enq.job_id, None) == [FIRST_EVENT]
    assert await store.events_after(enq.job_id, FIRST_EVENT.id) == []
    await store.claim("w1", 1)
    after = await store.events_after(enq.job_id, FIRST_EVENT.id)
    assert [e.data["status"] for e in after] == ["processing"]
    assert [e.id for e in await store.events_after(enq.job_id, None)] == ["0-1", after[0].id]
