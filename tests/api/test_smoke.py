"""The seed's submit → status → result flow through a real server process."""

from __future__ import annotations

import time

import httpx

from tests.server import Stack


def test_submit_status_result(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers=stack.headers()) as c:
        r = c.post("/api/multi-agent/submit",
                   json={"request": {"query": "cat todo app", "coordination_mode": "parallel"}})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert r.headers["location"] == f"/api/multi-agent/jobs/{job_id}/status"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            s = c.get(f"/api/multi-agent/jobs/{job_id}/status", params={"wait": 5}).json()
            if s["status"] == "completed":
                break
        res = c.get(f"/api/multi-agent/jobs/{job_id}/result")
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["status"] == "completed"
        assert body["result"]["coordination_mode"] == "parallel"
        assert body["result"]["metadata"]["backend"] == "simulated"
