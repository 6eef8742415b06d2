"""The operators' API against real processes: a `jobgate api` per test, real
workers (subprocesses, or a `Worker` in this process when a job must hold
still at a gate the test opens), a real Valkey.

Every wait is for a condition (a job listed, a worker gone) with a generous
deadline, never for a length of time: a slow machine only waits longer.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobgate.agents.handler import KIND
from jobgate.api.auth import ADMIN_SCOPE, mint_token
from jobgate.context import JobContext
from jobgate.embedded import EmbeddedValkey
from jobgate.services import Services
from jobgate.worker import Worker
from tests.api.held import QUICK, REFUSED, P, run_pending, submitted
from tests.helpers import make_settings
from tests.server import SECRET, Stack

A = "/api/admin"
DEADLINE_S = 60.0
ENDPOINTS = [
    ("GET", f"{A}/queues"), ("GET", f"{A}/workers"), ("GET", f"{A}/jobs?state=failed"),
    ("GET", f"{A}/jobs/{uuid.uuid4()}"), ("POST", f"{A}/jobs/{uuid.uuid4()}/retry"),
    ("POST", f"{A}/jobs/{uuid.uuid4()}/cancel"),
]


def operator_headers(sub: str = "ops", scope: tuple[str, ...] = (ADMIN_SCOPE,)) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, sub, 3600, scopes=scope)}"}


@pytest.fixture
def stack(valkey: EmbeddedValkey, tmp_path: Path) -> Iterator[Stack]:
    """An API with no worker: jobs move only when the test moves them."""
    s = Stack(valkey.url, f"adm-{uuid.uuid4().hex[:10]}", tmp_path / "stack")
    s.start_api()
    yield s
    s.stop()


@pytest.fixture
async def ops(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, headers=operator_headers(),
                                 timeout=60) as c:
        yield c


@pytest.fixture
async def alice(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, headers=stack.headers("alice"),
                                 timeout=60) as c:
        yield c


async def until(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """The first truthy answer of `probe`, asked again until DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if got := await probe():
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def listed(ops: httpx.AsyncClient, state: str, job_id: str) -> dict[str, Any] | None:
    r = await ops.get(f"{A}/jobs", params={"state": state})
    assert r.status_code == 200, r.text
    return next((j for j in r.json()["jobs"] if j["job_id"] == job_id), None)


async def submit_at(c: httpx.AsyncClient, priority: str) -> str:
    r = await c.post(f"{P}/submit", json={"request": QUICK, "priority": priority})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


async def status_of(c: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    r = await c.get(f"{P}/jobs/{job_id}/status")
    assert r.status_code == 200, r.text
    return dict(r.json())


class Gate:
    """A handler that reports progress, then holds still until the test opens it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        self.stopped = asyncio.Event()

    async def handler(self, ctx: JobContext, payload: Any) -> Any:
        await ctx.progress(0.5, "half way", {"agent": "research", "index": 1, "total": 2})
        self.entered.set()
        try:
            await self.opened.wait()
        finally:
            self.stopped.set()
        return {"opened": True}


async def test_no_token_is_401_and_a_user_token_is_403(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as anon:
        for method, path in ENDPOINTS:
            r = await anon.request(method, path)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["code"] == "unauthorized"
    async with httpx.AsyncClient(base_url=stack.url, headers=stack.headers("mallory"),
                                 timeout=30) as user:
        job_id = await submitted(user)
        for method, path in [*ENDPOINTS, ("POST", f"{A}/jobs/{job_id}/cancel")]:
            r = await user.request(method, path)
            assert r.status_code == 403, (path, r.text)
            body = r.json()
            assert body["code"] == "forbidden" and "jobgate:admin" in body["message"]
            assert set(body) == {"detail", "code", "message"}  # nothing of the data
        assert (await status_of(user, job_id))["status"] == "pending"  # untouched


async def test_the_admin_scope_among_others_is_enough(stack: Stack) -> None:
    headers = operator_headers("ops2", ("read:things", ADMIN_SCOPE, "write:things"))
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as c:
        r = await c.get(f"{A}/queues")
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"


async def test_bad_parameters_are_422_naming_them(ops: httpx.AsyncClient) -> None:
    for params, word in [({"state": "bogus"}, "state"), ({}, "state"),
                         ({"state": "failed", "limit": "0"}, "limit"),
                         ({"state": "failed", "cursor": "abc"}, "cursor")]:
        r = await ops.get(f"{A}/jobs", params=params)
        assert r.status_code == 422, (params, r.text)
        assert word in r.json()["message"], r.json()
    for method, path in [("GET", f"{A}/jobs/not-a-job"), ("POST", f"{A}/jobs/x/retry"),
                         ("POST", f"{A}/jobs/{uuid.uuid4()}/cancel")]:
        r = await ops.request(method, path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text


async def test_queues_and_pending_jobs_of_every_user(
    stack: Stack, ops: httpx.AsyncClient, alice: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=stack.url, headers=stack.headers("bob"),
                                 timeout=30) as bob:
        low = await submit_at(alice, "low")
        normal = [await submitted(bob), await submitted(bob)]
        high = await submit_at(alice, "high")
        r = await ops.get(f"{A}/queues")
        assert r.status_code == 200, r.text
        q = r.json()
        assert q["depth"] == {"high": 1, "normal": 2, "low": 1}
        assert (q["delayed"], q["running"], q["orphaned"], q["failed"]) == (0, 0, 0, 0)

        # Claim order across users, one job a page.
        seen, cursor = [], None
        for _ in range(10):
            params = {"state": "pending", "limit": 1, **({"cursor": cursor} if cursor else {})}
            page = (await ops.get(f"{A}/jobs", params=params)).json()
            seen += [(j["job_id"], j["owner"], j["priority"]) for j in page["jobs"]]
            if (cursor := page["next"]) is None:
                break
        assert seen == [(high, "alice", "high"), (normal[0], "bob", "normal"),
                        (normal[1], "bob", "normal"), (low, "alice", "low")]

        # An operator cancels bob's job; bob is told who did it.
        r = await ops.post(f"{A}/jobs/{normal[0]}/cancel")
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["owner"]) == ("cancelled", "bob")
        mine = await status_of(bob, normal[0])
        assert mine["status"] == "cancelled"
        assert mine["error_detail"] == "cancelled by an operator"
        again = await ops.post(f"{A}/jobs/{normal[0]}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "conflict"
        assert "already ended" in again.json()["message"]
        pending = (await ops.get(f"{A}/jobs", params={"state": "pending"})).json()["jobs"]
        assert [j["job_id"] for j in pending] == [high, normal[1], low]


async def test_a_running_job_with_progress_its_worker_and_a_cancel(
    stack: Stack, ops: httpx.AsyncClient, alice: httpx.AsyncClient, tmp_path: Path
) -> None:
    job_id = await submitted(alice)
    gate = Gate()
    svc = await Services.open(make_settings(stack.redis_url, stack.namespace, tmp_path))
    worker = Worker(svc.store, {KIND: gate.handler}, svc.settings,
                    concurrency=2)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(gate.entered.wait(), DEADLINE_S)
        job = await until(lambda: listed(ops, "running", job_id), "the job listed as running")
        assert (job["owner"], job["status"], job["worker"]) == ("alice", "processing", worker.id)
        assert job["progress"] == 0.5 and job["message"] == "half way"
        assert job["step"]["agent"] == "research" and job["orphaned"] is False
        assert job["lease_expires_at"] and job["attempt"] == 1

        async def registered() -> dict[str, Any] | None:
            ws = (await ops.get(f"{A}/workers")).json()["workers"]
            return next((w for w in ws if w["id"] == worker.id and w["running"] == 1), None)

        card = await until(registered, "the worker registered, running the job")
        assert card["jobs"] == [job_id] and card["concurrency"] == 2
        assert card["host"] == socket.gethostname() and card["heartbeat_age_s"] < 10
        q = (await ops.get(f"{A}/queues")).json()
        assert (q["running"], q["orphaned"]) == (1, 0)

        r = await ops.post(f"{A}/jobs/{job_id}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        await asyncio.wait_for(gate.stopped.wait(), DEADLINE_S)  # its worker stopped it
        assert gate.opened.is_set() is False
        result = (await alice.get(f"{P}/jobs/{job_id}/result")).json()
        assert (result["status"], result["result"]) == ("cancelled", None)
        assert await listed(ops, "running", job_id) is None
    finally:
        worker.request_stop(now=True)
        await asyncio.wait_for(task, DEADLINE_S)
        await svc.close()
    ws = (await ops.get(f"{A}/workers")).json()["workers"]
    assert worker.id not in {w["id"] for w in ws}  # a clean stop unregisters


async def test_a_killed_workers_job_is_orphaned_then_reclaimed(
    stack: Stack, ops: httpx.AsyncClient, alice: httpx.AsyncClient
) -> None:
    # Each agent call of this worker takes 10 minutes: its job runs until it is killed.
    doomed = stack.start_worker(concurrency=2, JOBGATE_SIM_STEP_S="600")
    job_id = await submitted(alice)
    job = await until(lambda: listed(ops, "running", job_id), "the job running")
    assert f"-{doomed.pid}-" in job["worker"]

    async def card_of(pid: int) -> dict[str, Any] | None:
        ws = (await ops.get(f"{A}/workers")).json()["workers"]
        return next((w for w in ws if w["pid"] == pid), None)

    await until(lambda: card_of(doomed.pid), "the worker registered")
    doomed.signal(signal.SIGKILL)
    orphan = await until(lambda: listed(ops, "orphaned", job_id), "the job orphaned")
    assert orphan["orphaned"] is True and orphan["status"] == "pending"
    assert orphan["message"] == "worker lost; retrying" and orphan["owner"] == "alice"
    q = (await ops.get(f"{A}/queues")).json()
    assert (q["running"], q["orphaned"]) == (0, 1)
    assert (await status_of(alice, job_id))["message"] == "worker lost; retrying"

    async def card_gone() -> bool:
        return await card_of(doomed.pid) is None

    await until(card_gone, "the killed worker's card expired")
    stack.start_worker(concurrency=2)  # takes the orphan up again
    done = await until(lambda: _ended(alice, job_id), "the reclaimed job completed")
    assert (done["status"], done["attempt"]) == ("completed", 2)
    assert await listed(ops, "orphaned", job_id) is None


async def _ended(c: httpx.AsyncClient, job_id: str) -> dict[str, Any] | None:
    s = await status_of(c, job_id)
    return s if s["status"] in {"completed", "failed", "cancelled"} else None


async def test_a_failed_job_retried_as_a_linked_new_job_that_completes(
    stack: Stack, ops: httpx.AsyncClient, alice: httpx.AsyncClient, tmp_path: Path
) -> None:
    old = await submitted(alice)
    await run_pending(stack, tmp_path)  # fails it: the LLM refused the key
    failed = await listed(ops, "failed", old)
    assert failed is not None
    assert (failed["owner"], failed["status"], failed["error_code"]) == ("alice", "failed",
                                                                         "llm_auth")
    assert failed["error_detail"] == REFUSED and failed["error"] == f"Job failed: {REFUSED}"
    assert failed["retried_as"] is None

    r = await ops.post(f"{A}/jobs/{old}/retry")
    assert r.status_code == 202, r.text
    new = r.json()
    assert new["job_id"] != old and new["retry_of"] == old
    assert (new["owner"], new["status"], new["attempt"]) == ("alice", "pending", 0)
    assert new["request"]["query"] == "a to-do list for cats"
    assert r.headers["location"] == f"{A}/jobs/{new['job_id']}"
    again = await ops.post(f"{A}/jobs/{old}/retry")  # a double click makes no second job
    assert again.status_code == 200 and again.json()["job_id"] == new["job_id"]

    detail = (await ops.get(f"{A}/jobs/{old}")).json()
    assert (detail["status"], detail["retried_as"]) == ("failed", new["job_id"])
    assert (await listed(ops, "failed", old) or {})["retried_as"] == new["job_id"]
    assert (await status_of(alice, old))["status"] == "failed"  # its final answer stands
    assert (await status_of(alice, new["job_id"]))["status"] == "pending"  # alice's own job

    stack.start_worker()
    done = await until(lambda: _ended(alice, new["job_id"]), "the retried job ended")
    assert done["status"] == "completed", done
    result = (await alice.get(f"{P}/jobs/{new['job_id']}/result")).json()
    assert result["status"] == "completed" and result["result"]
    refused = await ops.post(f"{A}/jobs/{new['job_id']}/retry")
    assert refused.status_code == 409 and "only a failed job" in refused.json()["message"]


async def test_failed_jobs_page_newest_first(
    stack: Stack, ops: httpx.AsyncClient, alice: httpx.AsyncClient, tmp_path: Path
) -> None:
    ids = []
    for _ in range(3):  # one at a time, so each ends after the one before
        ids.append(await submitted(alice))
        await run_pending(stack, tmp_path)
    first = (await ops.get(f"{A}/jobs", params={"state": "failed", "limit": 2})).json()
    assert [j["job_id"] for j in first["jobs"]] == ids[:0:-1] and first["next"]
    rest = (await ops.get(f"{A}/jobs", params={"state": "failed", "limit": 2,
                                                "cursor": first["next"]})).json()
    assert [j["job_id"] for j in rest["jobs"]] == ids[:1] and rest["next"] is None
    assert (await ops.get(f"{A}/queues")).json()["failed"] == 3


async def test_the_admin_api_is_in_the_openapi_document(ops: httpx.AsyncClient) -> None:
    doc = (await ops.get("/openapi.json")).json()
    for path, method in [("queues", "get"), ("workers", "get"), ("jobs", "get"),
                         ("jobs/{job_id}", "get"), ("jobs/{job_id}/retry", "post"),
                         ("jobs/{job_id}/cancel", "post")]:
        op = doc["paths"][f"{A}/{path}"][method]
        assert op["tags"] == ["admin"], path
        assert {"401", "403"} <= set(op["responses"]), path
    retry = doc["paths"][f"{A}/jobs/{{job_id}}/retry"]["post"]
    assert "new job" in retry["description"]
