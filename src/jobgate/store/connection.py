"""Connecting to Redis/Valkey, and refusing one that would evict job keys."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobgate.errors import ConfigError

# Policies that may evict a key we rely on. `volatile-*` evicts keys with a TTL,
# i.e. finished results and idempotency keys; `allkeys-*` may evict queued jobs.
SAFE_POLICIES = frozenset({"noeviction"})

TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
STORE_DOWN = (RedisConnectionError, RedisTimeoutError)  # raised by redis-py only


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
        # Retry a refused or reset connection once, never a timeout: a command that
        # timed out may have run, and a second wait would double the time to a 503.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1,
                    supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
    )
    return Redis.from_pool(pool)


async def check_eviction_policy(redis: Redis) -> None:
    """Refuse to run on a server that could silently drop jobs under memory pressure."""
    policy = (await redis.config_get("maxmemory-policy")).get("maxmemory-policy", "noeviction")
    if policy not in SAFE_POLICIES:
        raise ConfigError(
            f"Redis maxmemory-policy is {policy!r}: it may evict job keys and lose jobs. "
            "Set `maxmemory-policy noeviction` on the server."
        )
