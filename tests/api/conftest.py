"""One real API process and worker per test module; a distinct user per test.

`held` is an API with no worker at all: its jobs hold still in `pending`
until the test acts (cancels one, or runs a burst worker of its own), so a
test that needs a job in a given state never races a worker for it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.api.auth_fakes import Clock
from tests.server import Stack
from tests.valkey_cluster import Topology, topology_of


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def stack_topology(request: pytest.FixtureRequest) -> Topology:
    """The API's stacks run on a standalone Valkey and on a 3-primary cluster."""
    return topology_of(request)


@pytest.fixture(scope="module")
def api_stack(
    stack_topology: Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = Stack(stack_topology.url, f"api-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("api"),
              extra_env={"JOBGATE_SIM_STEP_S": "0.2", "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "3",
                         "JOBGATE_MAX_REQUEST_BYTES": "65536", **stack_topology.env})
    s.start_api()
    s.start_worker(concurrency=16)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def held(
    stack_topology: Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = Stack(stack_topology.url, f"held-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("held"),
              extra_env={"JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "3", **stack_topology.env})
    s.start_api()
    yield s
    s.stop()


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(api_stack: Stack, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_stack.url, headers=api_stack.headers(user), timeout=60) as c:
        yield c


@pytest.fixture
async def held_client(held: Stack, user: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=held.url, headers=held.headers(user), timeout=90) as c:
        yield c


@pytest.fixture
def clock() -> Clock:
    """The sign-in tests' settable clock."""
    return Clock()
