"""Where the partitions live, and the settings that must agree with the servers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from jobgate.errors import ConfigError
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.store.nodes import ClusterNodes
from tests.helpers import drain, make_settings
from tests.valkey_cluster import LocalCluster, SentinelGroup, Topology


async def test_the_partition_count_is_fixed_per_deployment(settings: Settings) -> None:
    svc = await Services.open(settings)
    await svc.close()
    other = settings.model_copy(update={"partitions": settings.partitions // 2})
    with pytest.raises(ConfigError, match="partitions"):
        await Services.open(other)
    again = await Services.open(settings)  # the count it started with is still fine
    await again.close()


async def test_the_mode_must_match_the_server(
    valkey_cluster: LocalCluster, topology: Topology, settings: Settings
) -> None:
    if topology.mode == "cluster":
        wrong = settings.model_copy(update={"redis_mode": "standalone"})
        hint = "JOBGATE_REDIS_MODE=cluster"
    else:
        wrong = settings.model_copy(update={"redis_mode": "cluster"})
        hint = "not a cluster node"
    with pytest.raises(ConfigError, match=hint):
        await Services.open(wrong)


async def test_partitions_spread_evenly_over_the_shards(
    services: Services, topology: Topology
) -> None:
    nodes = services.store.access.nodes
    if not isinstance(nodes, ClusterNodes):
        pytest.skip("one server holds every partition")
    keys = services.store.keys
    per_node = Counter(id(nodes.home(keys.slot(p))) for p in range(keys.partitions))
    assert len(per_node) == 3 and min(per_node.values()) >= keys.partitions // 3 - 1


async def test_notices_travel_on_sharded_channels_only(
    services: Services, topology: Topology, tmp_path: Path
) -> None:
    """Every partition's notify channel is heard on the server that holds it,
    and nothing is broadcast with PUBLISH."""
    services.notifier.start()
    store = services.store
    before = await _publishes(services)
    jobs = [await store.enqueue("echo", f"user{i}", i) for i in range(12)]

    async def echo(ctx: object, payload: object) -> object:
        return payload

    await drain(services, {"echo": echo})
    for e in jobs:
        job = await store.get(e.job_id)
        assert job is not None and job.state.value == "completed"
    assert await _publishes(services) == before
    keys, a = store.keys, store.access
    for p in range(keys.partitions):
        (counts,) = await a.send(keys.slot(p), a.pack("PUBSUB", "SHARDNUMSUB", keys.notify(p)), 1)
        assert counts[1] == 1, (p, counts)  # this process's one subscription, on that server


async def _publishes(services: Services) -> int:
    total = 0
    for lane in services.store.access.nodes.lanes():
        (info,) = await lane.send(lane.pack("INFO", "commandstats"), 1)
        for line in info.splitlines():
            if line.startswith("cmdstat_publish:"):
                total += int(line.split("calls=")[1].split(",")[0])
    return total


async def test_sentinel_mode_finds_the_primary(tmp_path: Path) -> None:
    """JOBGATE_REDIS_URL lists the sentinels; they name the primary; jobs run."""
    group = SentinelGroup(tmp_path / "sentinel").start()
    try:
        settings = make_settings(group.url, "sentinel", tmp_path, redis_mode="sentinel",
                                 redis_sentinel_master=group.name)
        svc = await Services.open(settings)
        try:
            enq = await svc.store.enqueue("echo", "alice", 1)
            assert svc.store.access.ack_needed(0) == 1  # the primary has a replica

            async def echo(ctx: object, payload: object) -> object:
                return payload

            await drain(svc, {"echo": echo})
            job = await svc.store.get(enq.job_id)
            assert job is not None and job.result == 1
        finally:
            await svc.close()
    finally:
        group.stop()
