"""A real API process for hostile clients, with short waits so a fuzzer never stalls on one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from jobgate.embedded import EmbeddedValkey
from tests.server import Stack

SHORT_WAITS = {
    "JOBGATE_SYNC_WAIT_S": "0.5",
    "JOBGATE_LONG_POLL_MAX_S": "1",
    "JOBGATE_SSE_MAX_CONNECTION_S": "1",
    "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "100000",
    "JOBGATE_LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="module")
def api(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API process (no worker: nothing a hostile request starts should run),
    shared by a module's tests, in a namespace of its own."""
    s = Stack(valkey.url, f"sec-{uuid.uuid4().hex[:12]}", tmp_path_factory.mktemp("api"),
              extra_env=SHORT_WAITS)
    s.start_api()
    yield s
    s.stop()


@pytest.fixture
def r(valkey: EmbeddedValkey) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(valkey.url, decode_responses=True)
    yield client
    client.close()


def keys_of(r: redis.Redis, namespace: str) -> dict[str, str]:
    """Every key of the namespace with a digest of its value: what a request wrote."""
    out = {}
    for k in r.scan_iter(match="{" + namespace + "*", count=1000):
        out[k] = str(r.dump(k))
    return out
