"""Cross-origin requests against a real `jobgate api`: listed origins may call
with credentials and read the headers a client needs; others get no
`Access-Control-Allow-Origin`; without JOBGATE_CORS_ORIGINS there is no CORS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey
from tests.server import Stack

PREFIX = "/api/multi-agent"
LISTED = "http://app.example.test:3000"
ALSO_LISTED = "https://ideas.example.test"
UNLISTED = "https://evil.example.test"


@pytest.fixture(scope="module")
def cors_stack(valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(valkey.url, f"cors-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("cors"),
                  extra_env={"JOBGATE_CORS_ORIGINS": f"{LISTED}, {ALSO_LISTED}/"})
    stack.start_api()
    yield stack
    stack.stop()


def preflight(url: str, origin: str, method: str = "POST",
              headers: str = "authorization,content-type,idempotency-key") -> httpx.Response:
    return httpx.options(url, timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def test_a_listed_origin_passes_the_preflight_with_credentials(cors_stack: Stack) -> None:
    for origin in (LISTED, ALSO_LISTED):
        resp = preflight(f"{cors_stack.url}{PREFIX}/submit", origin)
        assert resp.status_code == 200, resp.text
        assert resp.headers["access-control-allow-origin"] == origin
        assert resp.headers["access-control-allow-credentials"] == "true"
        assert "POST" in resp.headers["access-control-allow-methods"]
        allowed = resp.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
        assert "origin" in resp.headers["vary"].lower()


def test_an_unlisted_origin_gets_no_allow_origin(cors_stack: Stack) -> None:
    for origin in (UNLISTED, "http://app.example.test:3001", "null", LISTED + ".evil.test"):
        resp = preflight(f"{cors_stack.url}{PREFIX}/submit", origin)
        assert resp.status_code == 400
        assert "access-control-allow-origin" not in resp.headers


def test_actual_requests_from_a_listed_origin_are_readable(cors_stack: Stack) -> None:
    headers = {**cors_stack.headers(f"u-{uuid.uuid4().hex[:6]}"), "Origin": LISTED}
    with httpx.Client(base_url=cors_stack.url, timeout=30, headers=headers) as c:
        sub = c.post(f"{PREFIX}/submit", json={"request": {"query": "q"}})
        assert sub.status_code == 202
        assert sub.headers["access-control-allow-origin"] == LISTED
        assert sub.headers["access-control-allow-credentials"] == "true"
        exposed = {h.strip().lower()
                   for h in sub.headers["access-control-expose-headers"].split(",")}
        assert {"location", "retry-after", "etag"} <= exposed
        status = c.get(f"{PREFIX}/jobs/{sub.json()['job_id']}/status")
        assert status.headers["access-control-allow-origin"] == LISTED
        # errors too, or the page could not read why it failed
        denied = c.get(f"{PREFIX}/jobs", headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == LISTED
        huge = c.post(f"{PREFIX}/submit", json={"request": {"query": "x" * 2_000_000}})
        assert huge.status_code == 413
        assert huge.headers["access-control-allow-origin"] == LISTED


def test_actual_requests_from_an_unlisted_origin_are_not_shared(cors_stack: Stack) -> None:
    headers = {**cors_stack.headers(), "Origin": UNLISTED}
    resp = httpx.get(f"{cors_stack.url}{PREFIX}/jobs", headers=headers, timeout=30)
    assert "access-control-allow-origin" not in resp.headers
    no_origin = httpx.get(f"{cors_stack.url}{PREFIX}/jobs", headers=cors_stack.headers(),
                          timeout=30)
    assert "access-control-allow-origin" not in no_origin.headers


def test_never_a_wildcard(cors_stack: Stack) -> None:
    answers = [
        preflight(f"{cors_stack.url}/healthz", LISTED, "GET", "authorization"),
        preflight(f"{cors_stack.url}{PREFIX}/jobs", UNLISTED, "GET", "authorization"),
        httpx.get(f"{cors_stack.url}/healthz", headers={"Origin": LISTED}, timeout=30),
        httpx.get(f"{cors_stack.url}/healthz", headers={"Origin": UNLISTED}, timeout=30),
    ]
    for resp in answers:
        assert resp.headers.get("access-control-allow-origin") != "*"


def test_no_cors_without_origins(api_stack: Stack) -> None:
    resp = preflight(f"{api_stack.url}{PREFIX}/submit", LISTED)
    assert resp.status_code == 405
    assert not [h for h in resp.headers if h.startswith("access-control-")]
    actual = httpx.get(f"{api_stack.url}{PREFIX}/jobs", timeout=30,
                       headers={**api_stack.headers(), "Origin": LISTED})
    assert not [h for h in actual.headers if h.startswith("access-control-")]
