"""/api/multi-agent/stats and /api/admin/stats over HTTP against a real `jobgate api`
process, on SQLite and on PostgreSQL (the shared `database_url` fixture).

The rows are written straight into the history database with known values,
so every figure in the answer is checked against a number worked out here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from jobgate.api.auth import mint_token
from jobgate.embedded import EmbeddedValkey
from jobgate.history.db import History, open_url, upgrade_url
from tests.history.conftest import database_url, pg_server  # noqa: F401 — shared fixtures
from tests.history.test_analytics import T0, D, H, insert, job
from tests.server import SECRET, Stack

WINDOW = {"since": T0.isoformat(), "until": (T0 + 3 * D).isoformat()}


@pytest.fixture
async def history(database_url: str) -> AsyncIterator[History]:  # noqa: F811
    await upgrade_url(database_url)
    h = open_url(database_url)
    await insert(h, [
        job("a1", "alice", "completed", T0 + H, run=1.0, wait=0.5),
        job("a2", "alice", "completed", T0 + 2 * H, run=3.0, wait=1.5),
        job("a3", "alice", "failed", T0 + D, run=2.0, wait=1.0, code="llm_timeout"),
        job("a4", "alice", "completed", T0 + D, mode="parallel", run=8.0, wait=0.5),
        job("b1", "bob", "completed", T0 + H, mode="sequential", run=5.0, wait=0.1),
        job("b2", "bob", "cancelled", T0 + H, mode="sequential", run=None, wait=None),
        job("old", "alice", "failed", T0 - D, code="ancient"),
    ], {"a1": ["summary", "rag"], "a2": ["summary"], "a3": ["rag"], "a4": ["summary"],
        "b1": ["research"]})
    yield h
    await h.close()


@pytest.fixture
def api(valkey: EmbeddedValkey, database_url: str, history: History,  # noqa: F811
        tmp_path: Path) -> Iterator[Stack]:
    s = Stack(valkey.url, f"stats-{uuid.uuid4().hex[:8]}", tmp_path / "stack",
              extra_env={"JOBGATE_DATABASE_URL": database_url})
    s.start_api()
    yield s
    s.stop()


def client(api: Stack, sub: str, admin: bool = False) -> httpx.Client:
    scopes = ["jobgate:admin"] if admin else []
    token = mint_token(SECRET, sub, 600, scopes=scopes)
    return httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def test_own_stats_are_the_callers_jobs_only(api: Stack) -> None:
    with client(api, "alice") as c:
        r = c.get("/api/multi-agent/stats", params=WINDOW)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "own" and body["busiest_users"] is None
    t = body["total"]
    assert t["jobs"] == 4
    assert t["by_status"] == {"completed": 3, "failed": 1, "cancelled": 0}
    assert t["success_rate"] == pytest.approx(0.75)
    assert t["run_time_s"] == {"count": 3, "p50": 3.0, "p95": pytest.approx(7.5),
                               "p99": pytest.approx(7.9)}
    assert t["queue_wait_s"]["count"] == 4 and t["queue_wait_s"]["p50"] == pytest.approx(0.75)
    assert t["failures_by_code"] == {"llm_timeout": 1}
    assert body["since"] == "2026-03-01T00:00:00.000000+00:00"  # the contract's datetimes


def test_group_by_over_http(api: Stack) -> None:
    with client(api, "alice") as c:
        by_mode = c.get("/api/multi-agent/stats", params={**WINDOW, "group_by": "mode"}).json()
        by_day = c.get("/api/multi-agent/stats", params={**WINDOW, "group_by": "day"}).json()
        by_agent = c.get("/api/multi-agent/stats",
                         params={**WINDOW, "group_by": "agent"}).json()
        by_hour = c.get("/api/multi-agent/stats", params={**WINDOW, "group_by": "hour"}).json()
    assert [(g["key"], g["jobs"]) for g in by_mode["groups"]] == [("debate", 3), ("parallel", 1)]
    assert by_mode["groups"][0]["run_time_s"]["p50"] == pytest.approx(2.0)
    assert [(g["key"], g["jobs"]) for g in by_day["groups"]] == [("2026-03-01", 2),
                                                                 ("2026-03-02", 2)]
    assert {g["key"]: g["jobs"] for g in by_agent["groups"]} == {"summary": 3, "rag": 2}
    assert [g["key"] for g in by_hour["groups"]] == [
        "2026-03-01T01:00:00+00:00", "2026-03-01T02:00:00+00:00", "2026-03-02T00:00:00+00:00"]


def test_admin_stats_are_for_operators(api: Stack) -> None:
    with client(api, "alice") as c:
        r = c.get("/api/admin/stats", params=WINDOW)
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden" and "jobgate:admin" in r.json()["message"]
        owner = c.get("/api/multi-agent/stats", params={"group_by": "owner"})
        assert owner.status_code == 403 and owner.json()["code"] == "forbidden"
    with client(api, "root", admin=True) as c:
        r = c.get("/api/admin/stats", params={**WINDOW, "group_by": "owner"})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["scope"] == "all" and body["total"]["jobs"] == 6
        assert [(g["key"], g["jobs"]) for g in body["groups"]] == [("alice", 4), ("bob", 2)]
        assert body["busiest_users"] == [
            {"owner": "alice", "jobs": 4, "failed": 1, "run_time_s": 14.0},
            {"owner": "bob", "jobs": 2, "failed": 0, "run_time_s": 5.0}]
        one = c.get("/api/admin/stats", params={**WINDOW, "owner": "bob"}).json()
        assert one["total"]["jobs"] == 2 and one["total"]["by_status"]["cancelled"] == 1
        own = c.get("/api/multi-agent/stats", params=WINDOW).json()  # an operator's own jobs
        assert own["total"]["jobs"] == 0
    with httpx.Client(base_url=api.url) as anonymous:
        assert anonymous.get("/api/admin/stats").status_code == 401


BAD = [
    ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "since must be before"),
    ({"group_by": "week"}, "group_by"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "400 days"),
    ({"group_by": "hour", "since": "2026-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
     "at most 31 days"),
    ({"until": "0001-01-01T00:00:00"}, "out of range"),
]


def test_bad_parameters_are_a_clear_422(api: Stack) -> None:
    with client(api, "alice") as c:
        for params, needle in BAD:
            r = c.get("/api/multi-agent/stats", params=params)
            assert r.status_code == 422, (params, r.text)
            assert needle in r.json()["message"], (params, r.json())


def test_in_the_openapi_docs(api: Stack) -> None:
    spec = httpx.get(api.url + "/openapi.json").json()
    own = spec["paths"]["/api/multi-agent/stats"]["get"]
    assert own["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/StatsResponse")
    assert {p["name"] for p in own["parameters"]} == {"since", "until", "group_by"}
    assert "owner" in {p["name"] for p in spec["paths"]["/api/admin/stats"]["get"]["parameters"]}
    assert "403" in spec["paths"]["/api/admin/stats"]["get"]["responses"]
    assert {"p50", "p95", "p99", "count"} <= spec["components"]["schemas"]["Percentiles"][
        "properties"].keys()


def test_an_unreachable_database_is_a_503(valkey: EmbeddedValkey, tmp_path: Path) -> None:
    s = Stack(valkey.url, f"stats-{uuid.uuid4().hex[:8]}", tmp_path / "stack",
              extra_env={"JOBGATE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    s.start_api()
    try:
        with client(s, "alice") as c:
            for r in (c.get("/api/multi-agent/stats"),
                      c.get("/api/multi-agent/products/p/documents"),
                      c.post("/api/multi-agent/products/p/documents",
                             json={"title": "t", "content": "text"})):
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "store_unavailable"
                assert r.headers["retry-after"] == "2"
    finally:
        s.stop()
