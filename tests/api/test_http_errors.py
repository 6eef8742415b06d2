"""Error answers through real HTTP: each is JSON with a `message` that says
what to fix; a body not sent as JSON is a 415; a 405 names what is allowed."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobgate.agents.models import AgentName
from jobgate.embedded import free_port
from tests.server import Stack

P = "/api/multi-agent"
QUICK = {"query": "a to-do list for cats", "coordination_mode": "sequential",
         "supporting_agents": ["research"], "primary_agent": "summary"}
REQUEST_JSON = b'{"request": {"query": "cats", "coordination_mode": "sequential"}}'
HEADER_HINT = "Content-Type: application/json"


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"], body
    return dict(body)


def no_jobs(c: httpx.Client) -> bool:
    return c.get(f"{P}/jobs").json()["jobs"] == []


@pytest.mark.parametrize(("content_type", "raw"), [
    ("text/plain", REQUEST_JSON),  # fetch() with a string body and no header
    ("application/x-www-form-urlencoded", b"request=x"),  # curl -d, an HTML form
    ("multipart/form-data; boundary=zz", b"--zz\r\n\r\nx\r\n--zz--\r\n"),
    (None, REQUEST_JSON),  # a Blob body with no type: no header at all
    ("text/json", REQUEST_JSON),
])
@pytest.mark.parametrize("path", ["/submit", "/process"])
def test_a_body_not_sent_as_json_is_415_naming_the_header(
    client: httpx.Client, content_type: str | None, raw: bytes, path: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post(f"{P}{path}", content=raw, headers=headers)
    body = assert_error(r, 415, "unsupported_media_type")
    assert HEADER_HINT in body["detail"] and HEADER_HINT in body["message"]
    assert no_jobs(client)  # refused before anything was queued


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json"},
                                     {"Content-Type": "text/plain"}])
def test_a_missing_body_is_422_saying_what_to_send(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    body = assert_error(client.post(f"{P}/submit", headers=headers), 422, "invalid_request")
    assert isinstance(body["detail"], list)
    assert "no body" in body["message"] and HEADER_HINT in body["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "application/vnd.jobgate+json"])
def test_json_with_parameters_or_a_json_suffix_is_accepted(
    client: httpx.Client, content_type: str
) -> None:
    r = client.post(f"{P}/submit", content=REQUEST_JSON, headers={"Content-Type": content_type})
    assert r.status_code == 202, r.text
    client.post(f"{P}/jobs/{r.json()['job_id']}/cancel")


def test_an_unknown_agent_is_422_naming_the_field_and_the_allowed_agents(
    client: httpx.Client,
) -> None:
    r = client.post(f"{P}/submit", json={"request": {**QUICK, "primary_agent": "astrologer"}})
    body = assert_error(r, 422, "invalid_request")
    assert body["detail"][0]["loc"] == ["body", "request", "primary_agent"]  # FastAPI's list
    assert body["message"].startswith("request.primary_agent: ")
    assert "(got 'astrologer')" in body["message"]
    for agent in AgentName:
        assert f"'{agent.value}'" in body["message"]


def test_other_422s_carry_a_message(client: httpx.Client) -> None:
    job_id = client.post(f"{P}/submit", json={"request": QUICK}).json()["job_id"]
    wait = assert_error(client.get(f"{P}/jobs/{job_id}/status", params={"wait": 51}),
                        422, "invalid_request")
    assert wait["message"].startswith("wait (query): ")
    bad_json = client.post(f"{P}/submit", content=b'{"request": ',
                           headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_error(bad_json, 422, "invalid_request")["message"]
    resume = client.get(f"{P}/jobs/{job_id}/events", headers={"Last-Event-ID": "x'; DROP"})
    assert "Last-Event-ID" in assert_error(resume, 422, "invalid_request")["message"]


def test_auth_not_found_and_limits_carry_a_message(
    api_stack: Stack, client: httpx.Client
) -> None:
    assert_error(httpx.get(f"{api_stack.url}{P}/jobs"), 401, "unauthorized")
    unknown = client.get(f"{P}/jobs/6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f/status")
    assert assert_error(unknown, 404, "not_found")["message"] == "job not found"
    nowhere = assert_error(client.get("/api/nowhere"), 404, "not_found")
    assert nowhere["message"] == "no such endpoint: GET /api/nowhere"
    big = client.post(f"{P}/submit", json={"request": {**QUICK, "context": {"b": "x" * 70_000}}})
    assert "65536 bytes" in assert_error(big, 413, "too_large")["message"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", f"{P}/submit", "POST"),
    ("PUT", f"{P}/process", "POST"),
    ("DELETE", f"{P}/jobs/6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f/status", "GET"),
    ("GET", f"{P}/jobs/6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f/cancel", "POST"),
    ("POST", f"{P}/jobs", "GET"),
    ("POST", "/healthz", "GET"),
    ("POST", "/assets/app.css", "GET, HEAD"),  # a static mount
])
def test_405_carries_allow(client: httpx.Client, method: str, path: str, allow: str) -> None:
    r = client.request(method, path)
    body = assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allow
    assert body["message"] == f"{method} {path} is not allowed; this path accepts {allow}"


CONTENT_TYPES = [None, "text/plain", "text/html; charset=utf-8", "application/xml",
                 "application/x-www-form-urlencoded", "multipart/form-data",
                 "application/octet-stream", "application/", "*/*", ";;;", "x" * 300,
                 "application/json; charset=utf-16", "application/json"]
BODIES = [b"", REQUEST_JSON, b"query=x&priority=high", b"\xff\xfe\x00<x/>", b"[" * 3000]


def test_no_endpoint_answers_500_for_a_wrong_content_type(
    api_stack: Stack, client: httpx.Client
) -> None:
    """Every operation in the OpenAPI document, and a method it does not take,
    with bodies of every kind under every Content-Type."""
    job_id = client.post(f"{P}/submit", json={"request": QUICK}).json()["job_id"]
    deadline = time.monotonic() + 60
    while client.get(f"{P}/jobs/{job_id}/status", params={"wait": 10}).json()["status"] != (
            "completed"):
        assert time.monotonic() < deadline
    spec = client.get("/openapi.json").json()
    operations = {(m.upper(), path.replace("{job_id}", job_id))
                  for path, ops in spec["paths"].items() for m in ops}
    operations |= {("PATCH", path) for _, path in operations}
    tried = 0
    for (method, path), ctype, raw in itertools.product(sorted(operations), CONTENT_TYPES, BODIES):
        if raw == REQUEST_JSON and ctype is not None and ctype.startswith("application/json"):
            continue  # a valid submit: it would queue a job, not test an error
        headers = {"Content-Type": ctype} if ctype is not None else {}
        with client.stream(method, path, content=raw, headers=headers) as r:
            if r.headers.get("content-type", "").startswith("text/event-stream"):
                assert r.status_code == 200, (method, path, ctype)  # a live feed: not read
            else:
                r.read()
                assert r.status_code < 500, (method, path, ctype, raw[:20], r.status_code,
                                             r.text[:200])
                if r.status_code >= 400:
                    assert r.json()["message"], (method, path, ctype, r.text[:200])
        tried += 1
    assert tried > 500
    assert [j["job_id"] for j in client.get(f"{P}/jobs").json()["jobs"]] == [job_id]


def test_a_store_that_cannot_be_reached_is_503_with_retry_after(tmp_path: Path) -> None:
    dead = Stack(f"redis://127.0.0.1:{free_port()}/0", "dead", tmp_path)
    dead.start_api()
    try:
        r = httpx.get(f"{dead.url}{P}/jobs", headers=dead.headers(), timeout=60)
        body = assert_error(r, 503, "store_unavailable")
        assert r.headers["retry-after"] and "retry" in body["message"]
    finally:
        dead.stop()
