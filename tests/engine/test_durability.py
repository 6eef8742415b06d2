"""A submit and an attempt's end are acknowledged only once the replicas they
need have them (WAIT); otherwise the caller hears StoreUnavailable (a 503),
never a false "done"."""

from __future__ import annotations

import pytest

from jobgate.errors import StoreUnavailable
from jobgate.services import Services
from jobgate.settings import Settings
from tests.valkey_cluster import Topology


async def test_writes_wait_for_a_replica_when_there_is_one(
    services: Services, topology: Topology
) -> None:
    """The default: 1 where the primary has a replica (the test cluster), else 0."""
    store = services.store
    want = 1 if topology.mode == "cluster" else 0
    assert {store.access.ack_needed(store.keys.slot(p))
            for p in range(store.keys.partitions)} == {want}
    await store.enqueue("echo", "alice", 0)  # the server loads the script (and waits again)
    before = await _waits(services)
    await store.enqueue("echo", "alice", 1)
    assert await _waits(services) - before == want


async def test_a_replica_that_cannot_confirm_means_503_not_done(
    settings: Settings, topology: Topology
) -> None:
    """More replicas asked for than there are: WAIT times out; the submit is
    refused (it may exist on the primary: a retry with its Idempotency-Key
    finds it), and so is an attempt's end."""
    replicas = 1 if topology.mode == "cluster" else 0
    svc = await Services.open(
        settings.model_copy(update={"redis_min_replicas_ack": replicas + 1}))
    try:
        with pytest.raises(StoreUnavailable, match="no replica confirmed"):
            await svc.store.enqueue("echo", "alice", 1, idempotency_key="k1")
    finally:
        await svc.close()
    ok = await Services.open(settings)  # the same submit, once the replicas are back
    try:
        first = await ok.store.enqueue("echo", "alice", 1, idempotency_key="k1")
        assert first.duplicate  # the refused one had landed: not queued twice
    finally:
        await ok.close()


async def _waits(services: Services) -> int:
    total = 0
    for lane in services.store.access.nodes.lanes():
        (info,) = await lane.send(lane.pack("INFO", "commandstats"), 1)
        for line in info.splitlines():
            if line.startswith("cmdstat_wait:"):
                total += int(line.split("calls=")[1].split(",")[0])
    return total
