"""A worker dies (SIGKILL), hangs past its lease (SIGSTOP), or is killed by its own job.

Scenarios 1, 2 and 7 of issue 8. Lease 2 s, heartbeat 0.3 s. The jobs that
must be running when a worker dies wait at a gate (`LLMGate` for agent
calls, the `gate` job kind) that the test opens once it has seen what it came
to see, so no step depends on how fast a worker is.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from jobgate.job import Priority
from jobgate.services import Services
from tests.chaos.harness import (
    PREFIX,
    STARTUP_S,
    Cluster,
    Poller,
    events,
    job_hash,
    open_gate,
    request_body,
    terminal_events,
    wait_states,
    wait_until,
)
from tests.helpers import make_settings
from tests.llm_gate import LLMGate
from tests.server import Proc

# a hang guard only: every wait follows progress or a process start (STARTUP_S)
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]

NORMAL_JOBS = 40  # enqueued while the poison job kills its workers


async def read_sse(client: httpx.AsyncClient, job_id: str, out: list[dict[str, Any]]) -> None:
    """Follow the job's event stream to its end, reconnecting with Last-Event-ID."""
    last: str | None = None
    while True:
        headers = {"Last-Event-ID": last} if last else {}
        async with client.stream(
            "GET", f"{PREFIX}/jobs/{job_id}/events", headers=headers
        ) as resp:
            assert resp.status_code == 200
            event: dict[str, Any] = {}
            async for line in resp.aiter_lines():
                if line.startswith(("id:", "event:", "data:")):
                    name, _, value = line.partition(":")
                    event[name] = value.strip()
                elif line == "" and "id" in event:
                    out.append(event)
                    last = event["id"]
                    event = {}
        if out and out[-1].get("event") == "state" and any(
            f'"status":"{s}"' in out[-1]["data"] for s in ("completed", "failed", "cancelled")
        ):
            return


async def test_sigkill_mid_job_completes_on_another_worker(
    cluster: Cluster, r: redis.Redis, llm_gate: LLMGate
) -> None:
    """The job's agent calls wait at a gate: it holds still mid-job while its worker dies."""
    query = "killed mid-job"
    cluster.extra_env["JOBGATE_SSE_HEARTBEAT_S"] = "1"  # the stream of a held job stays open
    cluster.start_api()
    cluster.start_worker(**llm_gate.env())
    cluster.start_worker(**llm_gate.env())
    async with httpx.AsyncClient(
        base_url=cluster.url, headers=cluster.headers(), timeout=10
    ) as c:
        resp = await c.post(f"{PREFIX}/submit", json=request_body(steps=6, query=query))
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]
        pollers = [Poller(c, job_id) for _ in range(3)]
        sse: list[dict[str, Any]] = []
        tasks = [asyncio.create_task(p.run()) for p in pollers]
        tasks.append(asyncio.create_task(read_sse(c, job_id, sse)))

        llm_gate.allow(2)  # two agent calls answer; the job holds still at its third
        await wait_until(lambda: llm_gate.calls_for(query) >= 3, STARTUP_S, "the third call")
        victim = cluster.holder(r, job_id)
        assert victim is not None
        survivor = next(p for p in cluster.workers if p is not victim)
        # the survivor is held too, until a client has seen the orphan for what it is
        survivor.signal(signal.SIGSTOP)
        try:
            victim.kill()
            await wait_until(
                lambda: ("pending", 1, "worker lost; retrying") in _seen(pollers), 60,
                "a poller to see the lapsed lease")
        finally:
            survivor.signal(signal.SIGCONT)
        llm_gate.open()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        result = (await c.get(f"{PREFIX}/jobs/{job_id}/result")).json()

    assert result["status"] == "completed" and result["attempt"] == 2, result
    evs = events(r, cluster.namespace, job_id)
    assert len(terminal_events(evs)) == 1
    runs = [e for e in evs if e.type == "state" and e.data["status"] == "processing"]
    assert [e.data["attempt"] for e in runs] == [1, 2]
    # attempt 1 had made progress before it died; attempt 2 ran to completion on the survivor
    assert any(e.type == "progress" and e.ms < runs[1].ms for e in evs)
    done = [json.loads(line) for line in survivor.log.read_text().splitlines()
            if job_id in line and '"job completed"' in line]
    assert [x["attempt"] for x in done] == [2]
    for p in pollers:
        assert p.server_errors == [] and p.errors == []
    # the SSE client saw one terminal event, and every event exactly once (the
    # first, `pending` 0-1, is not stored: every job begins so)
    assert [e["id"] for e in sse] == ["0-1", *(e.id for e in evs)]


def _seen(pollers: list[Poller]) -> list[tuple[str, int, str]]:
    return [(s["status"], s["attempt"], s["message"]) for p in pollers for s in p.seen]


async def test_zombie_worker_writes_are_rejected(cluster: Cluster, r: redis.Redis) -> None:
    """Both jobs wait at a gate the test opens only after the zombie has woken up.

    Two takers: a job taken from a dead (here: stopped) worker may be what
    killed it, so it runs with no other job beside it, one per worker."""
    cluster.start_api()
    zombie = cluster.start_chaos_worker()
    settings = make_settings(cluster.redis_url, cluster.namespace, cluster.data_dir)
    svc = await Services.open(settings)
    try:
        # one job writes an event every 0.1 s, the other stays silent until it returns
        ticking = (await svc.store.enqueue("gate", "alice", {"gate": "z", "tick": True})).job_id
        silent = (await svc.store.enqueue("gate", "alice", {"gate": "z"})).job_id
        ids = [ticking, silent]
        await wait_states(r, cluster.namespace, ids, {"processing"}, STARTUP_S)
        await wait_until(lambda: any(e.type == "tick" for e in events(r, cluster.namespace,
                                                                       ticking)), 60, "a tick")
        zombie.signal(signal.SIGSTOP)
        takers = [cluster.start_chaos_worker(), cluster.start_chaos_worker()]
        try:
            await wait_until(
                lambda: all(job_hash(r, cluster.namespace, j).get("attempt") == "2"
                            and job_hash(r, cluster.namespace, j).get("state") == "processing"
                            for j in ids), STARTUP_S, "attempt 2 on the other worker")
        finally:
            zombie.signal(signal.SIGCONT)
        await wait_until(lambda: set(ids) <= {x["job_id"] for x in _lost(zombie)}, 60,
                         "the zombie to find both jobs gone")
        open_gate(r, cluster.namespace, "z")
        hashes = await wait_states(r, cluster.namespace, ids, {"completed", "failed"}, 30)
    finally:
        await svc.close()

    for j in ids:
        result = json.loads(hashes[j]["result"])
        assert hashes[j]["state"] == "completed" and hashes[j]["attempt"] == "2"
        assert result["attempt"] == 2 and result["pid"] in {t.pid for t in takers}
        evs = events(r, cluster.namespace, j)
        assert len(terminal_events(evs)) == 1
        second = next(e for e in evs if e.type == "state" and e.data.get("attempt") == 2
                      and e.data["status"] == "processing")
        late = [e for e in evs if e.type == "tick" and e.ms >= second.ms
                and e.data["pid"] == zombie.pid]
        assert late == [], "a write of the zombie landed after the job was taken from it"
    # the zombie noticed: both jobs lost their lease on its side, none completed there
    for x in _lost(zombie):  # a job line says which attempt of whose job
        assert x.get("attempt") == 1 and x.get("owner") == "alice", x
    assert not any(x["msg"] == "job completed" for x in _log(zombie))


def _log(proc: Proc) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.log.read_text().splitlines()
            if line.startswith("{")]


def _lost(proc: Proc) -> list[dict[str, Any]]:
    return [x for x in _log(proc) if x["msg"] == "job lost its lease"]


async def test_poison_job_fails_with_worker_lost_and_others_flow(
    cluster: Cluster, r: redis.Redis, tmp_path: Path
) -> None:
    """Workers die until the poison job gives up; as many as it takes, however long."""
    cluster.start_chaos_worker(concurrency=4)
    cluster.start_chaos_worker(concurrency=4)
    settings = make_settings(cluster.redis_url, cluster.namespace, tmp_path)
    svc = await Services.open(settings)
    normal: list[str] = []
    try:
        poison = (await svc.store.enqueue("poison", "mallory", None, max_attempts=3)).job_id
        seen, last_change = None, time.monotonic()
        while True:
            cluster.respawn_dead()  # the supervisor
            state = job_hash(r, cluster.namespace, poison)
            if state.get("state") == "failed" and len(normal) >= NORMAL_JOBS:
                break
            if len(normal) < NORMAL_JOBS:
                normal.append((await svc.store.enqueue(
                    "echo", f"user{len(normal) % 7}", len(normal), priority=Priority.NORMAL
                )).job_id)
            now = (state.get("state"), state.get("attempt"), cluster.deaths, len(normal))
            if now != seen:
                seen, last_change = now, time.monotonic()
            assert time.monotonic() - last_change < STARTUP_S, f"the poison job stalled: {seen}"
            await asyncio.sleep(0.1)
        cluster.respawn_dead()
        hashes = await wait_states(r, cluster.namespace, [poison, *normal],
                                   {"completed", "failed"}, STARTUP_S)
    finally:
        await svc.close()

    p = hashes[poison]
    assert p["state"] == "failed" and p["attempt"] == "3"
    assert json.loads(p["error"])["code"] == "worker_lost"
    assert cluster.deaths == 3
    states = _count(hashes, normal, lambda h: h["state"])
    assert states == {"completed": len(normal)}, states
    attempts = _count(hashes, normal, lambda h: h["attempt"])
    print(f"poison: {cluster.deaths} worker deaths; {len(normal)} other jobs, attempts {attempts}")


def _count(hashes: dict[str, dict[str, str]], ids: list[str],
           key: Callable[[dict[str, str]], str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for j in ids:
        out[key(hashes[j])] = out.get(key(hashes[j]), 0) + 1
    return out
