"""Shared fixtures: one embedded Valkey per test session, a key namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jobgate.embedded import EmbeddedValkey
from jobgate.services import Services
from jobgate.settings import Settings
from tests.helpers import make_settings
from tests.server import Stack
from tests.valkey_cluster import LocalCluster, Topology, topology_of


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), persistence=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local Valkey Cluster, 3 primaries with a replica each, shared by the session."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def topology(request: pytest.FixtureRequest) -> Topology:
    """Standalone here; tests/engine and tests/api run on the cluster as well."""
    return topology_of(request)


@pytest.fixture
def namespace() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(topology: Topology, namespace: str, tmp_path: Path) -> Settings:
    return make_settings(topology.url, namespace, tmp_path, redis_mode=topology.mode)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = await Services.open(settings)
    yield svc
    await svc.close()


@pytest.fixture
def stack(valkey: EmbeddedValkey, namespace: str, tmp_path: Path) -> Iterator[Stack]:
    """A real `jobgate api` process and one `jobgate worker` process."""
    s = Stack(valkey.url, namespace, tmp_path / "stack")
    s.start_api()
    s.start_worker()
    yield s
    s.stop()
