"""The engine's tests run on a standalone Valkey and on a 3-primary cluster."""

from __future__ import annotations

import pytest

from tests.valkey_cluster import Topology, topology_of


@pytest.fixture(params=["standalone", "cluster"])
def topology(request: pytest.FixtureRequest) -> Topology:
    return topology_of(request)
