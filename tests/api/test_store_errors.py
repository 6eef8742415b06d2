"""A Redis error the API did not foresee is a 503 with the JSON error body
(and Retry-After), never a bare 500, on a single Valkey and on the cluster."""

from __future__ import annotations

import uuid

import httpx
import redis
from redis.cluster import RedisCluster

from jobgate.store.keys import Keys
from tests.api.held import QUICK
from tests.server import Stack

P = "/api/multi-agent"


def test_an_unforeseen_redis_error_is_a_503_with_json(held: Stack) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    cluster = held.extra_env.get("JOBGATE_REDIS_MODE") == "cluster"
    r = (RedisCluster.from_url(held.redis_url) if cluster
         else redis.Redis.from_url(held.redis_url))
    try:
        # the user's job index is not a sorted set: the submit script fails (WRONGTYPE)
        r.set(Keys(held.namespace).owner_jobs(user), "not a zset")
        with httpx.Client(base_url=held.url, headers=held.headers(user), timeout=30) as c:
            resp = c.post(f"{P}/submit", json={"request": QUICK})
            listing = c.get(f"{P}/jobs")
    finally:
        r.close()
    for got in (resp, listing):
        assert got.status_code == 503, got.text
        assert got.json()["code"] == "store_unavailable" and got.json()["message"]
        assert got.headers["retry-after"]
