"""Failed and cancelled jobs as the wire shows them, against a real API process.

The API runs with no worker of its own, so a job holds still in `pending`
until the test acts: it cancels the job, or runs a burst worker (the real
engine) whose handler fails the way an LLM provider refusing a key would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobgate.agents.handler import KIND
from jobgate.context import JobContext
from jobgate.embedded import EmbeddedValkey
from jobgate.errors import PermanentError
from jobgate.services import Services
from tests.helpers import drain, make_settings
from tests.server import Stack

P = "/api/multi-agent"
QUICK = {"query": "a to-do list for cats", "coordination_mode": "sequential"}
REFUSED = "the LLM provider refused the API key"


@pytest.fixture(scope="module")
def held(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(valkey.url, f"held-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("held"))
    s.start_api()
    yield s
    s.stop()


@pytest.fixture
async def client(held: Stack) -> AsyncIterator[httpx.AsyncClient]:
    headers = held.headers(f"user-{uuid.uuid4().hex[:8]}")
    async with httpx.AsyncClient(base_url=held.url, headers=headers, timeout=90) as c:
        yield c


async def refuse(ctx: JobContext, payload: Any) -> Any:
    raise PermanentError(REFUSED, code="llm_auth")


async def fail_pending(held: Stack, tmp_path: Path) -> None:
    """Run every pending job of the stack once, failing it."""
    svc = await Services.open(make_settings(held.redis_url, held.namespace, tmp_path))
    try:
        await drain(svc, {KIND: refuse})
    finally:
        await svc.close()


async def submitted(c: httpx.AsyncClient) -> str:
    r = await c.post(f"{P}/submit", json={"request": QUICK})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


async def listed(c: httpx.AsyncClient) -> str:
    """The id of the caller's one job, once the server has queued it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = (await c.get(f"{P}/jobs")).json()["jobs"]
        if jobs:
            return str(jobs[0]["job_id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the job never appeared")


async def old_client_outcome(c: httpx.AsyncClient, job_id: str) -> tuple[str, int]:
    """The original app's polling rules: on `failed` it GETs /result and throws
    `result.error || 'Job processing failed'`; it re-throws (ends) only errors
    whose text has "timeout", "not found" or "failed", and polls on otherwise."""
    for polls in range(1, 4):
        status = (await c.get(f"{P}/jobs/{job_id}/status")).json()
        if status["status"] != "failed":
            continue
        result = (await c.get(f"{P}/jobs/{job_id}/result")).json()
        thrown = result.get("error") or "Job processing failed"
        text = thrown if isinstance(thrown, str) else "[object Object]"
        if any(word in text for word in ("timeout", "not found", "failed")):
            return text, polls
    raise AssertionError("the old client would have kept polling")


async def test_a_failed_job_carries_the_old_apps_string_and_its_parts(
    held: Stack, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(client)
    await fail_pending(held, tmp_path)
    want = {"error": f"Job failed: {REFUSED}", "error_code": "llm_auth", "error_detail": REFUSED}
    status = (await client.get(f"{P}/jobs/{job_id}/status")).json()
    result = (await client.get(f"{P}/jobs/{job_id}/result")).json()
    listing = (await client.get(f"{P}/jobs")).json()["jobs"]
    for body in (status, result, listing[0]):
        assert body["status"] == "failed"
        assert {k: body[k] for k in want} == want
    assert result["result"] is None
    assert await old_client_outcome(client, job_id) == (want["error"], 1)


async def test_the_event_stream_sends_the_same_result_body(
    held: Stack, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(client)
    await fail_pending(held, tmp_path)
    result_data = None
    async with client.stream("GET", f"{P}/jobs/{job_id}/events") as r:
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event == "result":
                result_data = json.loads(line.partition(":")[2])
    assert result_data == (await client.get(f"{P}/jobs/{job_id}/result")).json()
    assert result_data["error"] == f"Job failed: {REFUSED}"


async def test_a_cancelled_job_says_so_as_a_string(client: httpx.AsyncClient) -> None:
    job_id = await submitted(client)
    cancelled = await client.post(f"{P}/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200
    result = (await client.get(f"{P}/jobs/{job_id}/result")).json()
    for body in (cancelled.json(), result):
        assert body["status"] == "cancelled"
        assert body["error"] == "Job cancelled: cancelled by user"
        assert (body["error_code"], body["error_detail"]) == ("cancelled", "cancelled by user")


async def test_a_pending_job_has_no_error(client: httpx.AsyncClient) -> None:
    job_id = await submitted(client)
    status = (await client.get(f"{P}/jobs/{job_id}/status")).json()
    assert status["status"] == "pending"
    assert (status["error"], status["error_code"], status["error_detail"]) == (None, None, None)
    await client.post(f"{P}/jobs/{job_id}/cancel")


async def test_process_answers_502_for_a_failed_job(
    held: Stack, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    waiting = asyncio.create_task(client.post(f"{P}/process", json=QUICK))
    job_id = await listed(client)
    await fail_pending(held, tmp_path)
    r = await waiting
    assert r.status_code == 502, r.text
    assert r.json() == {"detail": f"Job failed: {REFUSED}", "code": "llm_auth",
                        "job_id": job_id, "message": f"Job failed: {REFUSED}"}


async def test_process_answers_409_for_a_cancelled_job(client: httpx.AsyncClient) -> None:
    waiting = asyncio.create_task(client.post(f"{P}/process", json=QUICK))
    job_id = await listed(client)
    assert (await client.post(f"{P}/jobs/{job_id}/cancel")).status_code == 200
    r = await waiting
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": "Job cancelled: cancelled by user", "code": "cancelled",
                        "job_id": job_id, "message": "Job cancelled: cancelled by user"}
