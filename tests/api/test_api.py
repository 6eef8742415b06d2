"""The HTTP contract through real HTTP against a real server process."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.server import Stack

P = "/api/multi-agent"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
QUICK = {"query": "a to-do list for cats", "coordination_mode": "sequential",
         "supporting_agents": ["research"], "primary_agent": "summary"}


def submit(c: httpx.Client, request: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    return c.post(f"{P}/submit", json={"request": request or QUICK}, **kw)


def wait_done(c: httpx.Client, job_id: str, limit: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        s = c.get(f"{P}/jobs/{job_id}/status", params={"wait": 10}).json()
        if s["status"] in ("completed", "failed", "cancelled"):
            return dict(s)
    raise AssertionError(f"job {job_id} did not finish")


def sse_events(c: httpx.Client, job_id: str, last: str | None = None,
               stop_after: int | None = None,
               unnumbered: bool = False) -> list[dict[str, str]]:
    """The stream's events with an id (the log), and with `unnumbered` those
    without one too (the `result` event)."""
    headers = {"Last-Event-ID": last} if last else {}
    events: list[dict[str, str]] = []
    with c.stream("GET", f"{P}/jobs/{job_id}/events", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        cur: dict[str, str] = {}
        for line in r.iter_lines():
            if not line:
                if "id" in cur or (unnumbered and cur):
                    events.append(cur)
                    if stop_after is not None and len(events) >= stop_after:
                        break
                cur = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(":")
                cur[k] = v.removeprefix(" ")
    return events


def test_submit_answers_202_with_contract_body(client: httpx.Client) -> None:
    r = submit(client)
    assert r.status_code == 202
    body = r.json()
    job_id = body["job_id"]
    assert body["status"] == "pending"
    assert set(body) >= {"job_id", "status", "message", "created_at",
                         "estimated_completion_seconds", "status_url", "result_url",
                         "events_url"}
    assert r.headers["location"] == body["status_url"] == f"{P}/jobs/{job_id}/status"
    assert int(r.headers["retry-after"]) >= 1
    assert ISO.match(body["created_at"])
    assert body["estimated_completion_seconds"] > 0


def test_status_and_result_shapes_and_datetimes(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    early = client.get(f"{P}/jobs/{job_id}/result")
    assert early.status_code == 202 and "retry-after" in early.headers
    done = wait_done(client, job_id)
    assert done["status"] == "completed" and done["progress"] == 1.0
    for k in ("created_at", "updated_at", "started_at", "completed_at"):
        assert ISO.match(done[k]), (k, done[k])
    assert done["attempt"] == 1
    st = client.get(f"{P}/jobs/{job_id}/status")
    assert "retry-after" not in st.headers
    res = client.get(f"{P}/jobs/{job_id}/result")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "completed"
    assert (body["error"], body["error_code"], body["error_detail"]) == (None, None, None)
    result = body["result"]
    assert result["coordination_mode"] == "sequential"
    assert result["primary_agent"] == "summary"
    assert result["agent_interactions"] and ISO.match(result["timestamp"])


def test_user_id_in_body_is_replaced_by_token_subject(client: httpx.Client, user: str) -> None:
    job_id = submit(client, {**QUICK, "user_id": "mallory"}).json()["job_id"]
    wait_done(client, job_id)
    result = client.get(f"{P}/jobs/{job_id}/result").json()["result"]
    assert "mallory" not in str(result)


def test_long_poll_with_stale_etag_returns_at_once(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    wait_done(client, job_id)
    r = client.get(f"{P}/jobs/{job_id}/status", params={"wait": 30},
                   headers={"If-None-Match": '"0-pending"'})
    assert r.json()["status"] == "completed"


def test_wait_over_50_is_422(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    r = client.get(f"{P}/jobs/{job_id}/status", params={"wait": 51})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_sse_full_stream_then_resume_with_no_loss_or_duplicate(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    part = sse_events(client, job_id, stop_after=3)  # drop the connection early
    rest = sse_events(client, job_id, last=part[-1]["id"])
    full = sse_events(client, job_id)  # after the end: the whole log, then close
    assert [e["id"] for e in part + rest] == [e["id"] for e in full]
    assert full[0]["event"] == "state" and '"pending"' in full[0]["data"]
    assert full[-1]["event"] == "state" and '"completed"' in full[-1]["data"]
    assert any(e["event"] == "agent_output" for e in full)
    assert any(e["event"] == "progress" for e in full)
    ids = [tuple(map(int, e["id"].split("-"))) for e in full]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # resuming after the terminal event closes at once with nothing new
    assert sse_events(client, job_id, last=full[-1]["id"]) == []


def test_sse_rejects_a_bad_last_event_id(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    r = client.get(f"{P}/jobs/{job_id}/events", headers={"Last-Event-ID": "x'; DROP"})
    assert r.status_code == 422


def test_list_jobs_is_mine_newest_first(api_stack: Stack, client: httpx.Client) -> None:
    ids = [submit(client).json()["job_id"] for _ in range(3)]
    with httpx.Client(base_url=api_stack.url, headers=api_stack.headers("someone-else")) as other:
        submit(other)
        assert all(j["job_id"] not in ids for j in other.get(f"{P}/jobs").json()["jobs"])
    page = client.get(f"{P}/jobs", params={"limit": 2}).json()
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][:2] and page["next"]
    page2 = client.get(f"{P}/jobs", params={"limit": 2, "cursor": page["next"]}).json()
    assert [j["job_id"] for j in page2["jobs"]] == ids[:1] and page2["next"] is None


def test_other_users_job_is_404_like_unknown_on_every_endpoint(
    api_stack: Stack, client: httpx.Client
) -> None:
    job_id = submit(client).json()["job_id"]
    unknown = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
    with httpx.Client(base_url=api_stack.url, headers=api_stack.headers("bob")) as bob:
        for method, path in [("GET", "status"), ("GET", "result"), ("GET", "events"),
                             ("POST", "cancel")]:
            theirs = bob.request(method, f"{P}/jobs/{job_id}/{path}")
            nobody = bob.request(method, f"{P}/jobs/{unknown}/{path}")
            malformed = bob.request(method, f"{P}/jobs/not-a-uuid/{path}")
            assert theirs.status_code == nobody.status_code == malformed.status_code == 404
            assert theirs.json() == nobody.json() == malformed.json()
    assert client.get(f"{P}/jobs/{job_id}/status").json()["status"] != "cancelled"


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic YWxpY2U6eA=="},
])
def test_missing_or_bad_token_is_401(api_stack: Stack, headers: dict[str, str]) -> None:
    r = httpx.post(f"{api_stack.url}{P}/submit", json={"request": QUICK}, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_expired_and_forged_tokens_are_401(api_stack: Stack) -> None:
    import jwt

    expired = api_stack.token("alice", ttl=-10)
    forged = jwt.encode({"sub": "alice"}, "another-secret-entirely-0123456789", algorithm="HS256")
    for tok in (expired, forged):
        r = httpx.get(f"{api_stack.url}{P}/jobs", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"request": {**QUICK, "coordination_mode": "anarchy"}}, "coordination_mode"),
    ({"request": {**QUICK, "supporting_agents": ["astrologer"]}}, "supporting_agents"),
    ({"request": {"coordination_mode": "debate"}}, "query"),
    ({"request": QUICK, "priority": "urgent"}, "priority"),
    ({"request": {**QUICK, "query": 42}}, "query"),
])
def test_invalid_input_is_422_naming_the_field(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    r = client.post(f"{P}/submit", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"
    assert any(field in map(str, e["loc"]) for e in r.json()["detail"])


def test_malformed_json_and_bad_utf8_are_422(client: httpx.Client) -> None:
    for raw in (b'{"request": ', b'\xff\xfe{"request": {}}', b"[" * 5000 + b"]" * 5000):
        r = client.post(f"{P}/submit", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (raw[:10], r.status_code, r.text[:200])


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    big = {"request": {**QUICK, "context": {"blob": "x" * 70_000}}}
    r = client.post(f"{P}/submit", json=big)
    assert r.status_code == 413 and r.json()["code"] == "too_large"

    def chunks() -> Any:
        for _ in range(200):
            yield b"x" * 1024

    r = client.post(f"{P}/submit", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_idempotency_key_returns_the_same_job(client: httpx.Client) -> None:
    a = submit(client, headers={"Idempotency-Key": "order-42"})
    b = submit(client, headers={"Idempotency-Key": "order-42"})
    assert a.status_code == b.status_code == 202
    assert a.json()["job_id"] == b.json()["job_id"]


def test_prefer_wait_returns_the_result(client: httpx.Client) -> None:
    r = submit(client, headers={"Prefer": "wait=20"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["result"]["response"]
    assert r.headers["preference-applied"] == "wait=20"


def test_process_returns_the_response_when_fast(client: httpx.Client) -> None:
    r = client.post(f"{P}/process", json=QUICK)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["coordination_mode"] == "sequential" and body["agent_interactions"]


def test_ops_endpoints(api_stack: Stack) -> None:
    assert httpx.get(f"{api_stack.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api_stack.url}/readyz").json() == {"status": "ready"}
    m = httpx.get(f"{api_stack.url}/metrics").text
    assert "jobgate_jobs_submitted_total" in m and "jobgate_http_requests_total" in m
    spec = httpx.get(f"{api_stack.url}/openapi.json").json()
    for path in (f"{P}/submit", f"{P}/jobs/{{job_id}}/status", f"{P}/jobs/{{job_id}}/result",
                 f"{P}/jobs/{{job_id}}/events", f"{P}/jobs/{{job_id}}/cancel", f"{P}/jobs",
                 f"{P}/process", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert httpx.get(f"{api_stack.url}/docs").status_code == 200


def test_config_js_with_hostile_environment(valkey: Any, tmp_path: Any) -> None:
    import json
    import subprocess
    import uuid

    s = Stack(valkey.url, f"cfg-{uuid.uuid4().hex[:8]}", tmp_path, extra_env={
        "API_URL": '"</script><script>alert(1)</script>', "JOB_POLL_INTERVAL_MS": "1000|x",
        "JOB_MAX_POLL_ATTEMPTS": "60", "JOB_TIMEOUT_MS": "120000"})
    s.start_api()
    try:
        r = httpx.get(f"{s.url}/config.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/javascript")
        assert "</script>" not in r.text
        out = subprocess.run(
            ["node", "-e",
             "const window = {};\n" + r.text + "\nconsole.log(JSON.stringify(window))"],
            capture_output=True, text=True, check=True,
        )
        got = json.loads(out.stdout)
        assert got["__API_URL__"] == '"</script><script>alert(1)</script>'
        assert got["__JOB_POLL_INTERVAL_MS__"] == 5000 and got["__JOB_MAX_POLL_ATTEMPTS__"] == 60
        assert "__JOBGATE_TOKEN__" not in got  # only `jobgate up` hands out a demo token
    finally:
        s.stop()


def test_sse_sends_the_result_just_before_the_terminal_event(client: httpx.Client) -> None:
    job_id = submit(client).json()["job_id"]
    events = sse_events(client, job_id, unnumbered=True)
    *log, result, terminal = events
    assert result["event"] == "result" and "id" not in result  # not part of the log
    assert json.loads(result["data"]) == client.get(f"{P}/jobs/{job_id}/result").json()
    assert terminal["event"] == "state" and '"completed"' in terminal["data"]
    assert all("id" in e for e in [*log, terminal])
    assert log[0]["id"] == "0-1" and '"pending"' in log[0]["data"]
