"""The app's requests over real HTTP: a real `jobgate api` and worker process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey
from tests.agents.test_rag_pipeline import APP_BODIES
from tests.agents.test_roster import ROSTER
from tests.server import Stack

PREFIX = "/api/multi-agent"
WAIT_S = 120


@pytest.fixture(scope="module")
def api(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(valkey.url, f"roster-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("roster"),
              extra_env={"JOBGATE_SIM_STEP_S": "0.02"})
    s.start_api()
    s.start_worker(concurrency=4)
    yield s
    s.stop()


@pytest.fixture
def client(api: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url + PREFIX, headers=api.headers(f"u-{uuid.uuid4().hex[:8]}"),
                      timeout=60) as c:
        yield c


def finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job's result once terminal, waiting by long-poll (no fixed sleeps)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}/status", params={"wait": 10}).json()
        if status["status"] in ("completed", "failed", "cancelled"):
            result: dict[str, Any] = client.get(f"/jobs/{job_id}/result").json()
            return result
    raise AssertionError(f"job {job_id} not finished within {WAIT_S} s")


@pytest.mark.parametrize(
    "request_body",
    [{"query": "q", "primary_agent": "wizard"},
     {"query": "q", "supporting_agents": ["rag", "research", "wizard"]}],
    ids=["primary", "supporting"],
)
def test_an_unknown_agent_is_a_422_naming_the_allowed_ones(
    client: httpx.Client, request_body: dict[str, Any]
) -> None:
    r = client.post("/submit", json={"request": request_body})
    assert r.status_code == 422, r.text
    body = r.json()
    field = next(iter(set(request_body) - {"query"}))
    errors = [e for e in body["detail"] if field in e["loc"]]
    assert len(errors) == 1, body
    for name in ROSTER:
        assert f"'{name}'" in errors[0]["msg"], (name, errors[0]["msg"])
    # the one string an old client shows names them too
    assert all(f"'{name}'" in body["message"] for name in ROSTER), body["message"]


@pytest.mark.parametrize("name", list(APP_BODIES))
def test_the_apps_requests_complete_over_http(client: httpx.Client, name: str) -> None:
    body = APP_BODIES[name]
    r = client.post("/submit", json={"request": body})
    assert r.status_code == 202, r.text
    result = finished(client, r.json()["job_id"])
    assert result["status"] == "completed", result
    response = result["result"]
    agents = {i["to_agent"] for i in response["agent_interactions"]}
    assert agents == {body["primary_agent"], *body["supporting_agents"]}
    rag = [i for i in response["agent_interactions"] if i["to_agent"] == "rag"]
    assert rag and all("Passages used (" in i["response"] for i in rag)
    assert response["metadata"]["retrieval"]["passages"]
