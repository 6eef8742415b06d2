"""The store's access path against a real Valkey: group commit, resends, a
forgotten script, an error that stays with its caller."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from jobgate.errors import TooManyActiveJobs
from jobgate.job import Priority, new_job_id
from jobgate.services import Services
from jobgate.store.access import Call
from jobgate.store.jobs import FIRST_EVENT


def _enqueue_call(services: Services, job_id: str, owner: str = "alice") -> Call:
    store, k = services.store, services.store.keys
    p = k.partition_of_owner(owner)
    keys = [k.job(job_id), k.owner_jobs(owner), k.active(p), k.queue(p, Priority.NORMAL),
            k.work(p), k.notify(p)]
    args: list[str | int | float] = [20, 60, job_id, "echo", owner, "normal", "{}", 3, 60.0, "", "",
                                     k.active_prefix(owner)]
    return Call(k.slot(p), store.scripts.enqueue, keys, args)


async def test_a_resent_enqueue_is_one_job(services: Services) -> None:
    """A call resent after a dropped connection may have run: the second run is a no-op."""
    store, r, k = services.store, services.redis, services.store.keys
    p = k.partition_of_owner("alice")
    job_id = new_job_id(p)
    first = await store.access.run(_enqueue_call(services, job_id))
    again = await store.access.run(_enqueue_call(services, job_id))
    assert isinstance(first, int) and again == ["dup", job_id]
    assert await r.lrange(k.queue(p, Priority.NORMAL), 0, -1) == [job_id]
    assert await r.zrange(k.active(p), 0, -1) == [k.active_prefix("alice") + job_id]
    assert await r.zcard(k.owner_jobs("alice")) == 1


async def test_concurrent_enqueues_all_land_once(services: Services) -> None:
    store, k = services.store, services.store.keys
    got = await asyncio.gather(*(store.enqueue("echo", f"u{i % 20}", i) for i in range(300)))
    ids = {e.job_id for e in got}
    assert len(ids) == 300 and not any(e.duplicate for e in got)
    queued: list[str] = []
    for p in range(k.partitions):
        queued += await services.redis.lrange(k.queue(p, Priority.NORMAL), 0, -1)
    assert sorted(queued) == sorted(ids)
    jobs = [await store.get(e.job_id) for e in got]
    assert sorted(j.payload for j in jobs if j is not None) == list(range(300))


async def test_the_lane_reconnects_after_its_connection_is_killed(services: Services) -> None:
    store = services.store
    enq = await store.enqueue("echo", "alice", 1)
    node = store.access.nodes.lane(store.keys.slot(store.keys.partition_of_job(enq.job_id) or 0))
    (clients,) = await node.send(node.pack("CLIENT", "LIST"), 1)
    lanes = [line for line in clients.splitlines() if "name=jobgate-lane " in line]
    assert len(lanes) == 1, clients
    (killed,) = await node.send(node.pack("CLIENT", "KILL", "SKIPME", "no", "ID",
                                          lanes[0].split()[0].split("=")[1]), 1)
    assert killed == 1 or killed == "OK"
    enq = await store.enqueue("echo", "alice", 2)  # the dead socket is found and replaced
    job = await store.get(enq.job_id)
    assert job is not None and job.payload == 2


async def test_the_store_reloads_a_script_the_server_forgot(services: Services) -> None:
    store = services.store
    for lane in store.access.nodes.lanes():
        await lane.send(lane.pack("SCRIPT", "FLUSH"), 1)
    results = await asyncio.gather(*(store.enqueue("echo", "alice", i) for i in range(20)))
    assert len({e.job_id for e in results}) == 20


async def test_a_script_error_reaches_only_its_caller(services: Services) -> None:
    """Calls sent in one round trip fail alone: carol's owner index is not a zset."""
    store = services.store
    await services.redis.set(store.keys.owner_jobs("carol"), "not a zset")
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


async def test_a_non_ascii_owner_gets_its_cap_back(services: Services) -> None:
    """The owner's hash in the active set comes from Python at submit
    (Keys.active_prefix) and from Lua at the end (end_job's sha1hex of the
    owner in the record): the two agree, for any text, so the cap frees up."""
    store, k, owner = services.store, services.store.keys, "zoë-名前-😀"
    cap = services.settings.max_active_jobs_per_user
    ids = [(await store.enqueue("echo", owner, {"é": i})).job_id for i in range(cap)]
    with pytest.raises(TooManyActiveJobs):
        await store.enqueue("echo", owner, "one too many")
    active = k.active(k.partition_of_owner(owner))
    assert sorted(await services.redis.zrange(active, 0, -1)) == sorted(
        k.active_prefix(owner) + i for i in ids)
    for i in ids:
        await store.cancel(i, owner)
    assert await services.redis.zcard(active) == 0
    job = await store.get((await store.enqueue("echo", owner, "room again")).job_id)
    assert job is not None and job.owner == owner and job.payload == "room again"


async def test_claims_have_a_lane_of_their_own(services: Services) -> None:
    """A worker's claim does not wait in a round trip behind its finishes."""
    store = services.store
    enq = await store.enqueue("echo", "alice", 1)
    slot = store.keys.slot(store.keys.partition_of_job(enq.job_id) or 0)
    batch = await store.claim("w1", 1)
    assert [c.job_id for c in batch.jobs] == [enq.job_id]
    assert store.access.nodes.lane(slot, claims=True) is not store.access.nodes.lane(slot)
    lane = store.access.nodes.lane(slot)  # the claims lane connects on its first use: the claim
    (clients,) = await lane.send(lane.pack("CLIENT", "LIST"), 1)
    assert "name=jobgate-lane-claims " in clients, clients


async def test_concurrent_calls_spread_over_the_servers_lanes(services: Services) -> None:
    """While one lane's round trip is in flight, calls take the other (lane.Lanes):
    the client packs one batch while the server runs the other."""
    store, k = services.store, services.store.keys
    p = k.partition_of_owner("alice")
    owners = [o for o in (f"u{i}" for i in range(2000)) if k.partition_of_owner(o) == p][:5]
    got = await asyncio.gather(*(store.enqueue("echo", o, i) for o in owners for i in range(12)))
    assert len({e.job_id for e in got}) == 60
    slot = k.slot(p)
    lane = store.access.nodes.lane(slot)
    (clients,) = await lane.send(lane.pack("CLIENT", "LIST"), 1)
    assert sum("name=jobgate-lane " in line for line in clients.splitlines()) == 2, clients
