"""Reads beyond the TTL through real server processes: once Valkey lets a job go,
/status, /result and GET /jobs answer from history with the same bodies, and
another user still gets the same 404 as for an unknown id."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from jobgate.embedded import EmbeddedValkey
from jobgate.store.keys import Keys
from tests.server import Stack

BASE = "/api/multi-agent"
REQUEST = {"query": "history beyond the TTL", "coordination_mode": "parallel",
           "product_id": "p-ttl"}


@pytest.fixture
def ttl_stack(
    valkey: EmbeddedValkey, namespace: str, tmp_path: Path, database_url: str
) -> Iterator[Stack]:
    s = Stack(valkey.url, namespace, tmp_path / "stack", extra_env={
        "JOBGATE_RESULT_TTL_S": "3", "JOBGATE_DATABASE_URL": database_url,
        "JOBGATE_ARCHIVE_POLL_S": "0.2",
    })
    s.start_api()
    s.start_worker()
    yield s
    s.stop()


def _wait_until_gone(r: redis.Redis, key: str, timeout: float = 60) -> None:
    """Poll the key's existence: no fixed sleep, only as long as Valkey takes."""
    deadline = time.monotonic() + timeout
    while r.exists(key):
        assert time.monotonic() < deadline, f"{key} still in Valkey after {timeout}s"
        time.sleep(0.1)


def test_status_result_and_list_answer_from_history(
    ttl_stack: Stack, valkey: EmbeddedValkey, namespace: str
) -> None:
    alice, bob = ttl_stack.headers("alice"), ttl_stack.headers("bob")
    with httpx.Client(base_url=ttl_stack.url, timeout=30) as c:
        job_id = c.post(f"{BASE}/submit", json={"request": REQUEST}, headers=alice).json()["job_id"]
        for _ in range(40):
            live = c.get(f"{BASE}/jobs/{job_id}/status?wait=20", headers=alice)
            if live.json()["status"] == "completed":
                break
        assert live.json()["status"] == "completed", live.json()
        live_result = c.get(f"{BASE}/jobs/{job_id}/result", headers=alice)
        assert live_result.status_code == 200
        listed_live = c.get(f"{BASE}/jobs", headers=alice).json()["jobs"]
        unknown = c.get(f"{BASE}/jobs/{uuid.uuid4()}/status", headers=alice)

        with redis.Redis.from_url(valkey.url) as r:
            _wait_until_gone(r, Keys(namespace).job(job_id))
            assert not r.exists(Keys(namespace).events(job_id))

        again = c.get(f"{BASE}/jobs/{job_id}/status", headers=alice)
        assert again.status_code == 200, again.text
        assert again.json() == live.json()
        assert c.get(f"{BASE}/jobs/{job_id}/status?wait=10", headers=alice).json() == live.json()
        result = c.get(f"{BASE}/jobs/{job_id}/result", headers=alice)
        assert result.status_code == 200
        assert result.json() == live_result.json()
        assert result.json()["result"]["coordination_mode"] == "parallel"
        listed = c.get(f"{BASE}/jobs", headers=alice).json()
        assert listed["jobs"] == listed_live and listed["next"] is None
        by_product = c.get(f"{BASE}/jobs?product_id=p-ttl&mode=parallel&status=completed",
                           headers=alice).json()["jobs"]
        assert [j["job_id"] for j in by_product] == [job_id]
        assert c.get(f"{BASE}/jobs?mode=debate", headers=alice).json()["jobs"] == []
        assert c.post(f"{BASE}/jobs/{job_id}/cancel", headers=alice).json() == live.json()

        for path in ("status", "result"):
            other = c.get(f"{BASE}/jobs/{job_id}/{path}", headers=bob)
            assert other.status_code == 404
            assert other.json() == unknown.json()  # the very body of an unknown id
        assert c.get(f"{BASE}/jobs", headers=bob).json() == {"jobs": [], "next": None}
