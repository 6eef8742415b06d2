"""Scenarios 5 and 6: Valkey itself dies, under load, and comes back.

Each test runs its own Valkey with persistence on a fixed port, so the
restarted server (same port, same append-only file) is the one the API and
worker processes reconnect to, with no restart of theirs.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey, free_port
from jobgate.store.keys import Keys
from tests.chaos.harness import (
    PREFIX,
    STARTUP_S,
    Cluster,
    job_hash,
    report,
    request_body,
    running_ids,
    sync_redis,
    wait_states,
    wait_until,
    waiting_clients,
)
from tests.llm_gate import LLMGate

# a hang guard only: every wait follows progress or a process start (STARTUP_S)
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


class Restartable:
    """A Valkey with an AOF on a fixed port that can be killed and started again."""

    def __init__(self, data_dir: Path, appendfsync: str) -> None:
        self.data_dir, self.appendfsync, self.port = data_dir, appendfsync, free_port()
        self.server = self._new()
        self.server.start()

    def _new(self) -> EmbeddedValkey:
        return EmbeddedValkey(self.data_dir, port=self.port, persistence=True,
                              appendfsync=self.appendfsync)

    @property
    def url(self) -> str:
        return self.server.url

    def kill(self) -> None:
        self.server.kill()

    def restart(self) -> None:
        self.server = self._new()
        self.server.start(timeout=30)


def make_cluster(valkey: Restartable, tmp_path: Path, **env: str) -> Cluster:
    return Cluster(valkey.url, f"v-{uuid.uuid4().hex[:8]}", tmp_path / "cluster", extra_env={
        "JOBGATE_LOG_LEVEL": "INFO", "JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "100000", **env})


async def warm_up(c: httpx.AsyncClient, cluster: Cluster) -> None:
    """Submit one job and wait for its result: the API and a worker are both up."""
    resp = await c.post(f"{PREFIX}/submit", json=request_body(), headers=cluster.headers())
    job_id = resp.json()["job_id"]
    resp = await c.get(f"{PREFIX}/jobs/{job_id}/status", headers=cluster.headers())
    for _ in range(30):
        if resp.json()["status"] == "completed":
            return
        resp = await c.get(f"{PREFIX}/jobs/{job_id}/status", params={"wait": 5},
                           headers={"If-None-Match": resp.headers["etag"],
                                    **cluster.headers()})
    raise AssertionError("warm-up job did not complete")


@pytest.fixture
def own_valkey(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Restartable]:
    v = Restartable(tmp_path / "valkey", getattr(request, "param", "always"))
    yield v
    if v.server.proc is not None and v.server.proc.poll() is None:
        v.server.proc.send_signal(signal.SIGCONT)
    v.server.stop()


SUBMITTERS, PER_SUBMITTER = 12, 50  # the work is fixed: 600 jobs, however fast they go
KILL_AFTER = 200  # acknowledged submits (and a job running) before Valkey dies
HOLD_AT = 400  # submitters pause here until it has died, so the kill lands mid-load


@pytest.mark.parametrize("own_valkey", ["always", "everysec"], indirect=True)
async def test_acknowledged_jobs_survive_valkey_sigkill(
    own_valkey: Restartable, tmp_path: Path
) -> None:
    cluster = make_cluster(own_valkey, tmp_path, JOBGATE_SIM_STEP_S="0.3")
    r = sync_redis(own_valkey.url)
    try:
        cluster.start_api()
        cluster.start_worker(concurrency=16)
        cluster.start_worker(concurrency=16)
        acked: dict[str, float] = {}
        refused = 0
        due, killed = asyncio.Event(), asyncio.Event()

        async def submitter(c: httpx.AsyncClient, n: int) -> None:
            nonlocal refused
            mine = 0
            while mine < PER_SUBMITTER:
                if len(acked) >= HOLD_AT:
                    await killed.wait()
                try:
                    resp = await c.post(f"{PREFIX}/submit", json=request_body(steps=2),
                                        headers=cluster.headers(f"u{n}"))
                except httpx.TransportError:
                    refused += 1
                    await asyncio.sleep(0.05)
                    continue
                if resp.status_code == 202:
                    acked[resp.json()["job_id"]] = time.time()
                    mine += 1
                    if len(acked) >= KILL_AFTER:
                        due.set()
                else:
                    assert resp.status_code == 503, resp.text
                    assert resp.headers["retry-after"]
                    refused += 1
                    await asyncio.sleep(0.05)

        async def kill_mid_load() -> tuple[set[str], float, float]:
            await due.wait()
            await wait_until(lambda: bool(running_ids(r, cluster.namespace)), STARTUP_S,
                             "a job running at the kill")
            running = running_ids(r, cluster.namespace)
            own_valkey.kill()
            t_kill = time.time()
            killed.set()
            await asyncio.sleep(2.5)  # the outage outlasts the lease: the leases lapse
            own_valkey.restart()
            return running, t_kill, time.time()

        async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as c:
            await warm_up(c, cluster)
            (running, t_kill, t_back), *_ = await asyncio.gather(
                kill_mid_load(), *(submitter(c, n) for n in range(SUBMITTERS)))
        r.close()

        r = sync_redis(own_valkey.url)
        pipe = r.pipeline(transaction=False)
        for j in acked:
            pipe.exists(Keys(cluster.namespace).job(j))
        present = dict(zip(acked, pipe.execute(), strict=True))
        missing = [j for j, ok in present.items() if not ok]
        window = max((t_kill - acked[j] for j in missing), default=0.0)
        before_kill = sum(1 for t in acked.values() if t < t_kill)
        after_back = sum(1 for t in acked.values() if t > t_back)
        report(f"valkey_sigkill_{own_valkey.appendfsync}", acked=len(acked),
               acked_before_kill=before_kill, acked_after_restart=after_back,
               running_at_kill=len(running), lost=len(missing),
               loss_window_s=round(window, 3), refused_while_down=refused,
               outage_s=round(t_back - t_kill, 2))
        assert len(acked) == SUBMITTERS * PER_SUBMITTER
        if own_valkey.appendfsync == "always":
            assert missing == []
        else:
            assert window <= 2.0  # everysec: at most the last second (two while fsync lags)
        assert before_kill >= KILL_AFTER and running and refused, "no load when Valkey died"
        assert after_back > 0, "no submit was acknowledged after the restart"
        # every surviving job ends completed, those running at the kill too (by lease)
        hashes = await wait_states(r, cluster.namespace, [j for j in acked if present[j]],
                                   {"completed", "failed", "cancelled"}, 60)
        assert {h["state"] for h in hashes.values()} == {"completed"}
        assert running <= set(hashes)
    finally:
        r.close()
        cluster.stop()


async def test_valkey_down_answers_503_then_everything_recovers(
    own_valkey: Restartable, tmp_path: Path, llm_gate: LLMGate
) -> None:
    """Every agent call waits at the gate: the jobs hold still until the test opens it.

    Valkey stays down longer than the lease, so the running job's lease has
    lapsed when it comes back, and with heartbeats 1.5 s apart the worker's
    first claim often reaches Valkey before its next heartbeat. Either order
    must work: the worker renews its own leases before it claims, rather than
    take its running job back as if it had died with it (a job taken back
    runs alone: the worker would claim nothing else while the job is held).
    """
    cluster = make_cluster(own_valkey, tmp_path, JOBGATE_HEARTBEAT_S="1.5")
    r = sync_redis(own_valkey.url)
    try:
        cluster.start_api()
        cluster.start_worker(**llm_gate.env())
        async with httpx.AsyncClient(
            base_url=cluster.url, headers=cluster.headers(), timeout=10
        ) as c:
            held = request_body(steps=6, query="running while Valkey dies")
            running = (await c.post(f"{PREFIX}/submit", json=held)).json()
            await wait_until(lambda: llm_gate.calls_for("running while Valkey dies") >= 1,
                             STARTUP_S, "the job's first agent call")
            assert job_hash(r, cluster.namespace, running["job_id"])["state"] == "processing"
            own_valkey.kill()
            slowest = 0.0
            for method, url, body in [
                ("POST", f"{PREFIX}/submit", request_body()),
                ("GET", f"{PREFIX}/jobs/{running['job_id']}/status", None),
                ("GET", f"{PREFIX}/jobs/{running['job_id']}/result", None),
                ("GET", f"{PREFIX}/jobs/{running['job_id']}/status?wait=10", None),
            ]:
                t0 = time.monotonic()
                resp = await c.request(method, url, json=body)
                took = time.monotonic() - t0
                slowest = max(slowest, took)
                assert resp.status_code == 503, (url, resp.status_code, resp.text)
                assert resp.headers["retry-after"] and resp.json()["code"] == "store_unavailable"
                # bounded by the 1 s Redis timeout, not the client's 10 s (margin for a busy box)
                assert took < 5.0, f"{url} took {took:.2f}s to say 503"
            assert (await c.get("/readyz")).status_code == 503
            assert (await c.get("/healthz")).status_code == 200
            await asyncio.sleep(2.5)  # down longer than the lease

            own_valkey.restart()
            t_back = time.monotonic()
            r = sync_redis(own_valkey.url)

            async def accepted() -> str:
                while True:
                    resp = await c.post(f"{PREFIX}/submit",
                                        json=request_body(query="submitted after the restart"))
                    if resp.status_code == 202:
                        return str(resp.json()["job_id"])
                    await asyncio.sleep(0.1)

            fresh = await asyncio.wait_for(accepted(), 30)
            api_back = time.monotonic() - t_back
            # the worker is back by itself: it runs the new job (held at its agent call)
            await wait_until(lambda: llm_gate.calls_for("submitted after the restart") >= 1,
                             STARTUP_S, "the worker to run a job again")
            worker_back = time.monotonic() - t_back
            # the notifier is subscribed again: a long-poll wakes on the change, not the timeout
            first = await c.get(f"{PREFIX}/jobs/{fresh}/status")
            assert first.json()["status"] == "processing"
            changed = asyncio.create_task(c.get(
                f"{PREFIX}/jobs/{fresh}/status", params={"wait": 30},
                headers={"If-None-Match": first.headers["etag"]}, timeout=40))
            await wait_until(lambda: waiting_clients(cluster.url) >= 1, STARTUP_S, "the long-poll")
            llm_gate.open()
            assert (await changed).status_code == 200
            assert (await changed).headers["etag"] != first.headers["etag"], "woke on no change"
            await wait_states(r, cluster.namespace, [fresh, running["job_id"]], {"completed"}, 30)
            assert (await c.get("/readyz")).status_code == 200
        report("valkey_down", slowest_503_s=round(slowest, 3),
               api_recovered_s=round(api_back, 2), worker_recovered_s=round(worker_back, 2))
    finally:
        r.close()
        cluster.stop()


async def test_valkey_hung_answers_503_in_time(own_valkey: Restartable, tmp_path: Path) -> None:
    """A Valkey that accepts connections but never answers (SIGSTOP: a stalled host)."""
    cluster = make_cluster(own_valkey, tmp_path)
    try:
        cluster.start_api()
        async with httpx.AsyncClient(
            base_url=cluster.url, headers=cluster.headers(), timeout=15
        ) as c:
            job = (await c.post(f"{PREFIX}/submit", json=request_body())).json()["job_id"]
            assert own_valkey.server.proc is not None
            own_valkey.server.proc.send_signal(signal.SIGSTOP)
            try:
                took = {}
                for method, url, body in [
                    ("POST", f"{PREFIX}/submit", request_body()),
                    ("GET", f"{PREFIX}/jobs/{job}/status", None),
                ]:
                    t0 = time.monotonic()
                    resp = await c.request(method, url, json=body)
                    took[url] = round(time.monotonic() - t0, 2)
                    assert resp.status_code == 503, resp.text
                    assert resp.headers["retry-after"]
            finally:
                own_valkey.server.proc.send_signal(signal.SIGCONT)
            report("valkey_hung", seconds_to_503=took)
            # bounded by the 1 s Redis timeout, not the client's 15 s (margin for a busy box)
            assert max(took.values()) < 5.0, took
            await wait_until(lambda: httpx.get(f"{cluster.url}/readyz").status_code == 200,
                             10, "ready again")
    finally:
        cluster.stop()
