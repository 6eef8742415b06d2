"""Failed and cancelled jobs as the wire shows them, against a real API process.

The API runs with no worker of its own, so a job holds still in `pending`
until the test acts: it cancels the job, or runs a burst worker (the real
engine) whose handler fails the way an LLM provider refusing a key would.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from tests.api.held import QUICK, REFUSED, P, listed, run_pending, submitted
from tests.server import Stack


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
    held: Stack, held_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(held_client)
    await run_pending(held, tmp_path)
    want = {"error": f"Job failed: {REFUSED}", "error_code": "llm_auth", "error_detail": REFUSED}
    status = (await held_client.get(f"{P}/jobs/{job_id}/status")).json()
    result = (await held_client.get(f"{P}/jobs/{job_id}/result")).json()
    listing = (await held_client.get(f"{P}/jobs")).json()["jobs"]
    for body in (status, result, listing[0]):
        assert body["status"] == "failed"
        assert {k: body[k] for k in want} == want
    assert result["result"] is None
    assert await old_client_outcome(held_client, job_id) == (want["error"], 1)


async def test_the_event_stream_sends_the_same_result_body(
    held: Stack, held_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(held_client)
    await run_pending(held, tmp_path)
    result_data = None
    async with held_client.stream("GET", f"{P}/jobs/{job_id}/events") as r:
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event == "result":
                result_data = json.loads(line.partition(":")[2])
    assert result_data == (await held_client.get(f"{P}/jobs/{job_id}/result")).json()
    assert result_data["error"] == f"Job failed: {REFUSED}"


async def test_a_cancelled_job_says_so_as_a_string(held_client: httpx.AsyncClient) -> None:
    job_id = await submitted(held_client)
    cancelled = await held_client.post(f"{P}/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200
    result = (await held_client.get(f"{P}/jobs/{job_id}/result")).json()
    for body in (cancelled.json(), result):
        assert body["status"] == "cancelled"
        assert body["error"] == "Job cancelled: cancelled by user"
        assert (body["error_code"], body["error_detail"]) == ("cancelled", "cancelled by user")


async def test_a_pending_job_has_no_error(held_client: httpx.AsyncClient) -> None:
    job_id = await submitted(held_client)
    status = (await held_client.get(f"{P}/jobs/{job_id}/status")).json()
    assert status["status"] == "pending"
    assert (status["error"], status["error_code"], status["error_detail"]) == (None, None, None)
    await held_client.post(f"{P}/jobs/{job_id}/cancel")


async def test_process_answers_502_for_a_failed_job(
    held: Stack, held_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    waiting = asyncio.create_task(held_client.post(f"{P}/process", json=QUICK))
    job_id = await listed(held_client)
    await run_pending(held, tmp_path)
    r = await waiting
    assert r.status_code == 502, r.text
    assert r.json() == {"detail": f"Job failed: {REFUSED}", "code": "llm_auth",
                        "job_id": job_id, "message": f"Job failed: {REFUSED}"}


async def test_process_answers_409_for_a_cancelled_job(held_client: httpx.AsyncClient) -> None:
    waiting = asyncio.create_task(held_client.post(f"{P}/process", json=QUICK))
    job_id = await listed(held_client)
    assert (await held_client.post(f"{P}/jobs/{job_id}/cancel")).status_code == 200
    r = await waiting
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": "Job cancelled: cancelled by user", "code": "cancelled",
                        "job_id": job_id, "message": "Job cancelled: cancelled by user"}
