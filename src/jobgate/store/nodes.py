"""The servers behind `JOBGATE_REDIS_URL`, for each `JOBGATE_REDIS_MODE`.

standalone  the URL is the server.
sentinel    the URL lists sentinels (`redis://h1:26379,h2:26379`); they name
            the primary of `JOBGATE_REDIS_SENTINEL_MASTER`, and name the new
            one after a failover (the connection finds it when it reconnects).
cluster     the URL names any node (or several, comma-separated); the rest
            and the map of slots are read from `CLUSTER SLOTS`.
Each server gets lanes for the store's commands (two: lane.Lanes), one more
for workers' claims (a claim's reply need not wait behind a batch of
finishes in the same round trip: both cost the server time, and the worker
needs the claim), and a redis-py client (pub/sub, operators' reads).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from jobgate.errors import StoreUnavailable
from jobgate.settings import Settings
from jobgate.store.connection import connect, connect_sentinel, hosts_of, with_host
from jobgate.store.lane import Lane, Lanes

SLOTS = 16384
LANES = 2  # per server, for the store's calls (lane.Lanes); workers' claims have their own
Addr = str  # "host:port"
ClientFactory = Callable[[Addr], Redis]


def _online_replicas(info: str) -> int:
    return sum(
        1 for line in info.splitlines() if line.startswith("slave") and "state=online" in line
    )


class SingleNode:
    """Standalone, or Sentinel's current primary: one server holds every slot."""

    def __init__(self, client: Redis, name: str, also_close: list[Redis] | None = None) -> None:
        self.client = client
        self._also_close = also_close or []
        self._lanes = Lanes(client, name, LANES)
        self._lane = self._lanes.all[0]
        self._claims = Lane(client, name + "-claims")  # connects on first use
        self._replicas = 0
        self.version = 0

    def lane(self, slot: int, claims: bool = False) -> Lane:
        return self._claims if claims else self._lanes.pick()

    def home(self, slot: int) -> Lane:
        """The first lane of the slot's server: the same object for the same server."""
        return self._lane

    def replicas(self, slot: int) -> int:
        return self._replicas

    def lanes(self) -> list[Lane]:
        return [self._lane]

    def clients_for(self, slots: list[int]) -> list[tuple[Redis, list[int]]]:
        return [(self.client, slots)]

    async def refresh(self) -> None:
        (info,) = await self._lane.send(self._lane.pack("INFO", "replication"), 1)
        if isinstance(info, Exception):
            raise info
        self._replicas = _online_replicas(info)

    async def aclose(self) -> None:
        await self._lanes.aclose()
        await self._claims.aclose()
        await self.client.aclose()
        for c in self._also_close:
            await c.aclose()


class ClusterNodes:
    """A Valkey/Redis Cluster: which primary holds each slot, read from the nodes."""

    def __init__(self, seeds: list[Addr], make_client: ClientFactory, name: str) -> None:
        self._seeds = seeds
        self._make_client = make_client
        self._name = name
        self._clients: dict[Addr, Redis] = {}
        self._lanes: dict[Addr, Lanes] = {}
        self._claim_lanes: dict[Addr, Lane] = {}
        self._owner: list[Addr] = [seeds[0]] * SLOTS
        self._replicas: dict[Addr, int] = {}
        self._replica_addrs: list[Addr] = []
        self._lock = asyncio.Lock()
        self.version = 0

    def _lane_of(self, addr: Addr) -> Lane:
        """The server's first lane (its map, its checks)."""
        return self._lanes_of(addr).all[0]

    def _lanes_of(self, addr: Addr) -> Lanes:
        lanes = self._lanes.get(addr)
        if lanes is None:
            lanes = self._lanes[addr] = Lanes(self.client(addr), self._name, LANES)
        return lanes

    def client(self, addr: Addr) -> Redis:
        c = self._clients.get(addr)
        if c is None:
            c = self._clients[addr] = self._make_client(addr)
        return c

    def lane(self, slot: int, claims: bool = False) -> Lane:
        addr = self._owner[slot]
        if not claims:
            return self._lanes_of(addr).pick()
        lane = self._claim_lanes.get(addr)
        if lane is None:
            lane = self._claim_lanes[addr] = Lane(self.client(addr), self._name + "-claims")
        return lane

    def home(self, slot: int) -> Lane:
        """The first lane of the slot's server: the same object for the same server."""
        return self._lane_of(self._owner[slot])

    def replicas(self, slot: int) -> int:
        return self._replicas.get(self._owner[slot], 0)

    def lanes(self) -> list[Lane]:
        return [self._lane_of(a) for a in self.primaries()] or [self._lane_of(self._seeds[0])]

    def primaries(self) -> list[Addr]:
        return sorted(set(self._owner))

    def clients_for(self, slots: list[int]) -> list[tuple[Redis, list[int]]]:
        by: dict[Addr, list[int]] = {}
        for s in slots:
            by.setdefault(self._owner[s], []).append(s)
        return [(self.client(a), ss) for a, ss in sorted(by.items())]

    async def refresh(self) -> None:
        async with self._lock:
            errors = []
            for addr in dict.fromkeys([*self.primaries(), *self._seeds, *self._replica_addrs]):
                try:
                    (reply,) = await self._lane_of(addr).send(
                        self._lane_of(addr).pack("CLUSTER", "SLOTS"), 1
                    )
                except Exception as exc:
                    errors.append(f"{addr}: {exc}")
                    continue
                if isinstance(reply, Exception):
                    errors.append(f"{addr}: {reply}")
                    continue
                self._apply(reply)
                await self._count_replicas()
                return
            raise StoreUnavailable("no cluster node answered: " + "; ".join(errors))

    async def _count_replicas(self) -> None:
        """Each primary's replicas in sync, as the primary itself sees them (the
        ones WAIT counts; CLUSTER SLOTS hides a replica until data flows)."""
        primaries = self.primaries()

        async def online(addr: Addr) -> int:
            lane = self._lane_of(addr)
            try:
                (info,) = await lane.send(lane.pack("INFO", "replication"), 1)
            except Exception:
                return 0
            return 0 if isinstance(info, Exception) else _online_replicas(info)

        counts = await asyncio.gather(*(online(a) for a in primaries))
        self._replicas = dict(zip(primaries, counts, strict=True))

    def _apply(self, reply: list[Any]) -> None:
        owner = list(self._owner)
        seen: list[Addr] = []
        for start, end, primary, *reps in reply:
            addr = f"{_s(primary[0])}:{int(primary[1])}"
            owner[int(start) : int(end) + 1] = [addr] * (int(end) - int(start) + 1)
            seen += [f"{_s(r[0])}:{int(r[1])}" for r in reps]
        if owner != self._owner:
            self.version += 1
        self._owner = owner
        self._replica_addrs = seen

    async def aclose(self) -> None:
        for lanes in self._lanes.values():
            await lanes.aclose()
        for lane in self._claim_lanes.values():
            await lane.aclose()
        for c in self._clients.values():
            with contextlib.suppress(Exception):
                await c.aclose()


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


AnyNodes = SingleNode | ClusterNodes


async def open_nodes(settings: Settings, max_connections: int) -> AnyNodes:
    """The servers for `settings.redis_mode`, their map read once (if they answer:
    a store that is away now is found later, and /readyz says so meanwhile)."""
    url, timeout = settings.redis_url, settings.redis_timeout_s
    assert url, "resolve the Redis URL (or start embedded Valkey) first"
    nodes: AnyNodes
    if settings.redis_mode == "cluster":
        def make(addr: Addr) -> Redis:
            return connect(with_host(url, addr), timeout, max_connections,
                           settings.redis_pool_wait_s)
        nodes = ClusterNodes([f"{h}:{p}" for h, p in hosts_of(url)], make, "jobgate-lane")
    elif settings.redis_mode == "sentinel":
        assert settings.redis_sentinel_master
        client, sentinels = connect_sentinel(url, settings.redis_sentinel_master, timeout)
        nodes = SingleNode(client, "jobgate-lane", sentinels)
    else:
        nodes = SingleNode(
            connect(url, timeout, max_connections, settings.redis_pool_wait_s), "jobgate-lane"
        )
    with contextlib.suppress(Exception):
        await nodes.refresh()
    return nodes
