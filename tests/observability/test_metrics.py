"""/metrics of a real API process and a real worker process carry real values.

Every metric `jobgate.metrics` defines is checked after the traffic that
should move it: submitted, finished by state, retried, reclaimed, run time,
queue wait, queue depth by priority, running, waiting clients by channel,
HTTP requests by route and code, and Valkey's memory.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from jobgate.embedded import free_port
from jobgate.job import Priority
from jobgate.services import Services
from tests.chaos.harness import (
    PREFIX,
    STARTUP_S,
    Cluster,
    request_body,
    sync_redis,
    wait_states,
    wait_until,
)
from tests.helpers import make_settings
from tests.observability.conftest import Samples, scrape, value, value_or_zero

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


async def test_every_metric_moves_with_real_traffic(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_api()
    api_metrics = f"{cluster.url}/metrics"
    svc = await Services.open(make_settings(cluster.redis_url, cluster.namespace, tmp_path))
    r = sync_redis(cluster.redis_url)
    try:
        store = svc.store
        # No worker yet: three low-priority jobs wait, and one high-priority job is
        # held by a worker that will never come back (it lapses, then is reclaimed).
        low = [(await store.enqueue("echo", "alice", i, priority=Priority.LOW)).job_id
               for i in range(3)]
        ghost = (await store.enqueue("echo", "alice", "ghost", priority=Priority.HIGH)).job_id
        assert [c.job_id for c in (await store.claim("ghost-worker", 1)).jobs] == [ghost]

        # the API refreshes its gauges every few seconds
        def gauges_seen() -> bool:
            s = scrape(api_metrics)
            return (value_or_zero(s, "jobgate_queue_depth", priority="low") == 3
                    and value_or_zero(s, "jobgate_jobs_running") == 1)

        await wait_until(gauges_seen, 60, "queue depth and running gauges", every=0.5)
        s = scrape(api_metrics)
        assert value(s, "jobgate_queue_depth", priority="high") == 0
        assert value(s, "jobgate_valkey_memory_bytes") > 100_000

        # clients waiting on this process, by channel
        async with httpx.AsyncClient(
            base_url=cluster.url, headers=cluster.headers("alice"), timeout=20
        ) as c:
            polled = await c.get(f"{PREFIX}/jobs/{low[0]}/status")
            assert polled.status_code == 200
            long_poll = asyncio.create_task(c.get(
                f"{PREFIX}/jobs/{low[1]}/status", params={"wait": 15}))
            sse = asyncio.create_task(_read_some_sse(c, low[2]))

            def waiting() -> bool:
                s = scrape(api_metrics)
                return (value_or_zero(s, "jobgate_waiting_clients", channel="long_poll") >= 1
                        and value_or_zero(s, "jobgate_waiting_clients", channel="sse") >= 1)

            await wait_until(waiting, 60, "waiting clients")
            assert value(scrape(api_metrics), "jobgate_waiting_clients", channel="poll") >= 1

            # now a worker: it runs the queue, reclaims the ghost's job, retries a flaky one
            port = free_port()
            cluster.start_chaos_worker(metrics_port=port)
            submitted = [
                (await c.post(f"{PREFIX}/submit", json=request_body(steps=2))).json()["job_id"]
                for _ in range(2)
            ]
            flaky = (await store.enqueue("flaky", "alice", None)).job_id
            unknown = (await store.enqueue("no-such-kind", "alice", None)).job_id
            # the worker process starts first: on a busy machine that alone takes a while
            await wait_states(r, cluster.namespace, [*low, ghost, *submitted, flaky, unknown],
                              {"completed", "failed"}, STARTUP_S)
            await asyncio.wait_for(long_poll, 20)
            await asyncio.wait_for(sse, 20)
            assert (await c.get(f"{PREFIX}/jobs/{'0' * 8}-0000-4000-8000-{'0' * 12}/status")
                    ).status_code == 404
        worker = scrape(f"http://127.0.0.1:{port}/metrics")
        api = scrape(api_metrics)
    finally:
        r.close()
        await svc.close()

    # worker side
    assert value(worker, "jobgate_jobs_finished_total", kind="echo", state="completed") == 4
    assert value(worker, "jobgate_jobs_finished_total", kind="multi_agent",
                 state="completed") == 2
    assert value(worker, "jobgate_jobs_finished_total", kind="no-such-kind", state="failed") == 1
    assert value(worker, "jobgate_jobs_finished_total", kind="flaky", state="completed") == 1
    assert value(worker, "jobgate_jobs_retried_total", kind="flaky") == 1
    assert value(worker, "jobgate_jobs_reclaimed_total") >= 1
    assert value(worker, "jobgate_job_duration_seconds_count", kind="multi_agent") == 2
    assert value(worker, "jobgate_job_duration_seconds_sum", kind="multi_agent") > 0.1
    assert value(worker, "jobgate_job_queue_wait_seconds_count") >= 6
    assert value(worker, "jobgate_job_queue_wait_seconds_bucket", le="+Inf") >= 6
    # API side
    assert value(api, "jobgate_jobs_submitted_total", kind="multi_agent", priority="normal") == 2
    status_route = f"{PREFIX}/jobs/{{job_id}}/status"
    assert value(api, "jobgate_http_requests_total", route=status_route, code="200") >= 2
    assert value(api, "jobgate_http_requests_total", route=status_route, code="404") == 1
    assert value(api, "jobgate_http_requests_total", route=f"{PREFIX}/submit", method="POST",
                 code="202") == 2
    _no_ids_in_labels(api)
    _no_ids_in_labels(worker)


async def _read_some_sse(c: httpx.AsyncClient, job_id: str) -> None:
    async with c.stream("GET", f"{PREFIX}/jobs/{job_id}/events") as resp:
        assert resp.status_code == 200
        async for line in resp.aiter_lines():
            if '"status":"completed"' in line:
                return


def _no_ids_in_labels(samples: Samples) -> None:
    """Route templates, never raw paths: a job id in a label would explode the series."""
    for name, labels in samples:
        for k, v in labels:
            assert not UUID.search(v), f"{name} has a job id in label {k}={v}"
