"""Enqueue's new-job notice: it wakes that owner's feeds in this process, no one else's."""

from __future__ import annotations

import asyncio

from jobgate.services import Services


async def test_a_new_job_wakes_its_owners_watchers_only(services: Services) -> None:
    services.notifier.start()
    await asyncio.wait_for(services.notifier.connected.wait(), 5)
    store, notifier = services.store, services.notifier
    with notifier.watch_owner("alice") as a1, notifier.watch_owner("alice") as a2, \
            notifier.watch_owner("alice bob") as spaced, notifier.watch_owner("bob") as bob:
        assert notifier.owner_watchers == 4
        enq = await store.enqueue("echo", "alice", 1)
        assert await a1.wait(5) and await a2.wait(5)
        assert not await bob.wait(0.3) and not await spaced.wait(0)
        with notifier.watch(enq.job_id) as job_watch:
            await store.enqueue("echo", "alice bob", 2)  # an owner with a space in its id
            assert await spaced.wait(5)
            assert not await job_watch.wait(0.2)  # a new job is not news about another job
            assert not await a1.wait(0)
    assert notifier.owner_watchers == 0


async def test_a_resent_or_refused_enqueue_announces_nothing(services: Services) -> None:
    services.notifier.start()
    await asyncio.wait_for(services.notifier.connected.wait(), 5)
    store = services.store
    with services.notifier.watch_owner("carol") as w:
        await store.enqueue("echo", "carol", 1, idempotency_key="k")
        assert await w.wait(5)
        again = await store.enqueue("echo", "carol", 1, idempotency_key="k")
        assert again.duplicate
        assert not await w.wait(0.3)
