"""Pure decisions of the history package: no database, no Valkey, no sleep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from jobgate.api.views import result_view, status_view
from jobgate.errors import InvalidRequest
from jobgate.history.cursor import Cursor, decode, encode
from jobgate.history.db import database_url
from jobgate.history.nul import json_text, no_nul
from jobgate.history.reads import matches
from jobgate.history.record import describe, job_from_row, row_values, to_us
from jobgate.history.repo import JobFilter
from jobgate.job import Job, JobState, Priority
from jobgate.settings import Settings

T0 = 1_767_000_000_123_457  # µs


def _job(**over: object) -> Job:
    base: dict[str, object] = dict(
        id="5f0c1a52-3b8e-4d2a-9c51-0e7a1b2c3d4e", kind="multi_agent", owner="alice",
        state=JobState.COMPLETED, priority=Priority.HIGH, attempt=2, max_attempts=3,
        created_us=T0, updated_us=T0 + 9_000_001, started_us=T0 + 1_500_000,
        completed_us=T0 + 9_000_001, progress=1.0, message="done",
        step={"agent": "summary", "index": 3, "total": 3},
        payload={"query": "q", "coordination_mode": "debate", "context": {"product_id": "p9"},
                 "_llm_key": "sealed"},
        result={"response": "r"},
    )
    base.update(over)
    return Job(**base)  # type: ignore[arg-type]


class _Row:
    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)


@pytest.mark.parametrize("state,error,message", [
    (JobState.COMPLETED, None, "done"),
    (JobState.FAILED, {"code": "timeout", "message": "took too long"}, "failed"),
    (JobState.FAILED, None, "worker lost; no attempts left"),
    (JobState.CANCELLED, None, "cancelled by user"),
])
def test_row_round_trip_renders_the_same_bodies(
    state: JobState, error: dict[str, str] | None, message: str
) -> None:
    job = _job(state=state, error=error, message=message,
               result={"response": "r"} if state is JobState.COMPLETED else None)
    values, agents = row_values(job, datetime.now(UTC))
    back = job_from_row(_Row(values))
    assert status_view(back, 0) == status_view(job, 0)
    assert result_view(back) == result_view(job)
    assert values["request"] == {"query": "q", "coordination_mode": "debate",
                                 "context": {"product_id": "p9"}}  # the sealed key never stored
    assert values["mode"] == "debate" and values["product_id"] == "p9"
    assert values["primary_agent"] == "summary" and {"strategy", "validation"} <= set(agents)
    assert values["queue_wait_s"] == 1.5 and values["run_time_s"] == pytest.approx(7.500001)


def test_describe_reads_what_it_can_of_other_kinds() -> None:
    assert describe("echo", {"i": 1}).mode is None
    d = describe("echo", {"coordination_mode": "x", "product_id": "p"})
    assert (d.mode, d.product_id, d.agents) == ("x", "p", [])
    assert describe("echo", "text").request == "text"
    assert describe("multi_agent", {"query": ""}).agents == []  # invalid: no plan, no crash


def test_nul_is_replaced_everywhere() -> None:
    assert no_nul("x\x00y") == "x\ufffdy" and no_nul(3) == 3
    value = {"a\x00": ["x\x00y", 1, None, "\\\x00", "\\u0000", "\\\\u0000"]}
    text = json_text(value)
    assert "\\u0000" not in text.replace("\\\\", "")  # no NUL escape left
    # a backslash before a NUL stays; the text "\u0000" (no NUL in it) stays as it was
    assert json.loads(text) == {"a\ufffd": ["x\ufffdy", 1, None, "\\\ufffd", "\\u0000",
                                            "\\\\u0000"]}


def test_microseconds_are_exact() -> None:
    dt = datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)
    assert to_us(dt) == to_us(dt - timedelta(microseconds=1)) + 1


def test_cursor_is_opaque_versioned_and_checked() -> None:
    c = Cursor(T0, "5f0c1a52-3b8e-4d2a-9c51-0e7a1b2c3d4e")
    token = encode(c)
    assert str(T0) not in token and decode(token) == c
    assert decode("123") == Cursor(123, "")  # the old API's cursor still works
    assert Cursor(123, "").is_after(122, "zzz") and not Cursor(123, "").is_after(123, "a")
    assert c.is_after(T0, "5f0c1a52-0000-4000-8000-000000000000")
    assert not c.is_after(T0, c.job_id)
    for bad in ("%%%", "bm9wZQ", encode(c) + "x", "MS4xLjxzY3JpcHQ-"):
        with pytest.raises(InvalidRequest):
            decode(bad)


def test_live_filter() -> None:
    job = _job(payload={"query": "q", "coordination_mode": "debate", "product_id": "p1"})
    at = datetime.fromtimestamp(T0 / 1e6, tz=UTC)
    assert matches(JobFilter(status="completed", mode="debate", product_id="p1"), job, T0)
    assert not matches(JobFilter(status="failed"), job, T0)
    assert not matches(JobFilter(mode="parallel"), job, T0)
    assert matches(JobFilter(since=at), job, T0) and not matches(JobFilter(until=at), job, T0)
    # archived (request dropped from Valkey): only the history row can tell
    assert matches(JobFilter(mode="debate"), _job(payload=None), T0) is None
    assert matches(JobFilter(status="completed"), _job(payload=None), T0) is True


def test_database_url(tmp_path: object) -> None:
    s = Settings(data_dir="/srv/jg")
    assert database_url(s) == "sqlite+aiosqlite:////srv/jg/history.db"
    assert database_url(Settings(database_url="postgresql://u:p@h/db")) == \
        "postgresql+asyncpg://u:p@h/db"
    assert database_url(Settings(database_url="postgres://h/db")) == "postgresql+asyncpg://h/db"
    assert database_url(Settings(database_url="")).startswith("sqlite+aiosqlite:///")
