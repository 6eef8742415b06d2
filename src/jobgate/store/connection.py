"""Connecting to Redis/Valkey, and refusing one that would evict job keys."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobgate.errors import ConfigError, StoreUnavailable
from jobgate.store.lane import Lane

# Policies that may evict a key we rely on. `volatile-*` evicts keys with a TTL,
# i.e. finished results and idempotency keys; `allkeys-*` may evict queued jobs.
SAFE_POLICIES = frozenset({"noeviction"})

TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, StoreUnavailable)
STORE_DOWN = (RedisConnectionError, RedisTimeoutError, StoreUnavailable)  # from the store only


def hosts_of(url: str) -> list[tuple[str, int]]:
    """The hosts of a URL that may list several: `redis://a:1,b:2/0`."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    out = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"JOBGATE_REDIS_URL: {part!r} is not host:port")
        out.append((host, int(port)))
    return out


def with_host(url: str, addr: str) -> str:
    """`url` (its scheme, credentials and options) pointed at one server."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{addr}" if auth else addr
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _retry() -> Retry:
    # Retry a refused or reset connection once, never a timeout: a command that
    # timed out may have run, and a second wait would double the time to a 503.
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1,
                 supported_errors=(RedisConnectionError,))


def connect(
    url: str, timeout_s: float, max_connections: int = 8, pool_wait_s: float | None = None
) -> Redis:
    """A client whose every command fails fast (no hang) when Redis is away.

    The pool is small and blocking: a burst of a thousand requests queues for
    a few connections (each command is one short round trip) instead of
    opening a connection per request, or failing with "too many connections".
    """
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        max_connections=max_connections,
        timeout=pool_wait_s if pool_wait_s is not None else timeout_s,
        retry=_retry(),
        retry_on_error=[RedisConnectionError],
    )
    return Redis.from_pool(pool)


def connect_sentinel(url: str, master: str, timeout_s: float) -> tuple[Redis, list[Redis]]:
    """A client of the primary that the sentinels listed in `url` name (after a
    failover its connections find the new primary when they reconnect), and
    the clients of the sentinels, to close with it."""
    parts = urlsplit(url)
    auth = {"username": parts.username, "password": parts.password} if parts.password else {}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        hosts_of(url), socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        sentinel_kwargs={"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s},
        **auth,
    )
    client: Redis = sentinel.master_for(
        master, decode_responses=True, socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s, health_check_interval=30, retry=_retry(),
        retry_on_error=[RedisConnectionError],
    )
    return client, list(sentinel.sentinels)


async def check_eviction_policy(lane: Lane) -> None:
    """Refuse to run on a server that could silently drop jobs under memory pressure."""
    (reply,) = await lane.send(lane.pack("CONFIG", "GET", "maxmemory-policy"), 1)
    if isinstance(reply, Exception):
        raise reply
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    found = dict(pairs)
    policy = found.get("maxmemory-policy", "noeviction")
    if policy not in SAFE_POLICIES:
        raise ConfigError(
            f"Redis maxmemory-policy is {policy!r}: it may evict job keys and lose jobs. "
            "Set `maxmemory-policy noeviction` on the server."
        )


async def check_mode(lane: Lane, mode: str) -> None:
    """A cluster node answers most commands with MOVED: say what to set instead."""
    (info,) = await lane.send(lane.pack("INFO", "cluster"), 1)
    clustered = "cluster_enabled:1" in str(info)
    if clustered and mode != "cluster":
        raise ConfigError(
            "JOBGATE_REDIS_URL names a node of a Redis/Valkey Cluster: set "
            "JOBGATE_REDIS_MODE=cluster"
        )
    if mode == "cluster" and not clustered:
        raise ConfigError(
            "JOBGATE_REDIS_MODE=cluster, but the server is not a cluster node: "
            "unset JOBGATE_REDIS_MODE (standalone) or point JOBGATE_REDIS_URL at a cluster"
        )
