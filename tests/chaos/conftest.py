"""Fixtures of the crash suite: a cluster of real processes in the test's namespace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jobgate.embedded import EmbeddedValkey
from tests.chaos.harness import Cluster, sync_redis
from tests.llm_gate import LLMGate


@pytest.fixture
def cluster(valkey: EmbeddedValkey, namespace: str, tmp_path: Path) -> Iterator[Cluster]:
    """Nothing started yet: each test starts the APIs and workers it needs."""
    c = Cluster(valkey.url, namespace, tmp_path / "cluster",
                extra_env={"JOBGATE_LOG_LEVEL": "INFO", "JOBGATE_SHUTDOWN_GRACE_S": "1",
                           "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "100000"})
    yield c
    c.stop()


@pytest.fixture
def r(valkey: EmbeddedValkey) -> Iterator[redis.Redis]:
    client = sync_redis(valkey.url)
    yield client
    client.close()


@pytest.fixture
def llm_gate() -> Iterator[LLMGate]:
    """A closed gate for agent calls: workers started with `llm_gate.env()` use it."""
    gate = LLMGate().start()
    yield gate
    gate.close()
