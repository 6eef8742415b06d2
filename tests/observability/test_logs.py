"""Structured logs of real processes: JSON lines, job ids on job lines, no secrets.

A job is submitted with a query, a context value, a caller's LLM key and a
bearer token that are each unique strings; after it ran (and after a
rejected request, an unknown id and a bad token) no log line of the API or
the worker may contain any of them, or the server's signing secret.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.chaos.harness import PREFIX, STARTUP_S, Cluster, sync_redis, wait_states
from tests.server import SECRET


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_logs_are_json_with_job_fields_and_no_secrets(cluster: Cluster, level: str) -> None:
    cluster.extra_env["JOBGATE_LOG_LEVEL"] = level
    cluster.start_api()
    cluster.start_worker()
    secrets = {
        "query": f"QUERY-{uuid.uuid4()}",
        "context": f"CONTEXT-{uuid.uuid4()}",
        "llm key": f"sk-LLMKEY{uuid.uuid4().hex}",
    }
    token = cluster.token("carol")
    secrets["token"] = token
    secrets["token signature"] = token.rsplit(".", 1)[1]
    secrets["auth secret"] = SECRET
    body = {"request": {"query": secrets["query"], "coordination_mode": "sequential",
                        "supporting_agents": ["research"],
                        "context": {"note": secrets["context"]}}}
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as c:
        resp = await c.post(f"{PREFIX}/submit", json=body,
                            headers={**auth, "X-LLM-API-Key": secrets["llm key"]})
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]
        # rejected and failing requests carrying the same secrets
        bad = {"request": {**body["request"], "coordination_mode": "nonsense"}}
        assert (await c.post(f"{PREFIX}/submit", json=bad, headers=auth)).status_code == 422
        assert (await c.post(f"{PREFIX}/submit", json=body, headers={
            "Authorization": f"Bearer {token}x"})).status_code == 401
        assert (await c.get(f"{PREFIX}/jobs/{uuid.uuid4()}/status", headers=auth)
                ).status_code == 404
        r = sync_redis(cluster.redis_url)
        await wait_states(r, cluster.namespace, [job_id], {"completed", "failed"}, STARTUP_S)
        r.close()
    cluster.stop()  # flush and close every log

    lines = []
    for path in sorted(cluster.data_dir.glob("*.log")):
        for raw in path.read_text().splitlines():
            if not raw.strip():
                continue
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pytest.fail(f"{path.name}: not a JSON line: {raw[:200]}")
            for name, value in secrets.items():
                assert value not in raw, f"{path.name} logs the {name}: {raw[:300]}"
    job_lines = [x for x in lines if x.get("job_id") == job_id]
    msgs = {x["msg"] for x in job_lines}
    assert {"job started", "job completed"} <= msgs, msgs
    for x in job_lines:
        if x["msg"].startswith("job "):
            assert x["attempt"] == 1 and x["owner"] == "carol", x
    for x in lines:
        assert {"ts", "level", "logger", "msg"} <= set(x)
