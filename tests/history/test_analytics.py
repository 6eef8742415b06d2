"""Analytics on both databases, checked against rows inserted with known values.

Each percentile is compared with `reference_percentile`, a plain statement
of percentile_cont (linear interpolation between the nearest ranks), and a
few with the values worked out by hand.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from jobgate.errors import Forbidden, InvalidRequest
from jobgate.history.analytics import (
    StatsQuery,
    compute_stats,
    counts_statement,
    make_query,
    percentiles_statement,
)
from jobgate.history.db import History
from jobgate.history.models import JobAgent, JobRow
from jobgate.history.stats_models import GroupBy

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(days=3))


def reference_percentile(values: list[float], p: float) -> float:
    xs = sorted(values)
    pos = p * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def job(
    job_id: str, owner: str, status: str, done: datetime, *, mode: str | None = "debate",
    run: float | None = 1.0, wait: float | None = 0.5, code: str | None = None,
) -> JobRow:
    started = None if wait is None else done - timedelta(seconds=run or 0)
    created = done - timedelta(seconds=(run or 0) + (wait or 0))
    return JobRow(
        job_id=job_id, kind="multi_agent", owner=owner, status=status, priority="normal",
        mode=mode, primary_agent="summary", product_id=None, request={"query": "q"},
        result=None, error_code=code, error_detail=None, attempt=1, created_at=created,
        started_at=started, completed_at=done, queue_wait_s=wait, run_time_s=run,
        archived_at=done,
    )


async def insert(history: History, rows: list[JobRow], agents: dict[str, list[str]]) -> None:
    async with history.sessions.begin() as s:
        s.add_all(rows)
        await s.flush()
        s.add_all(JobAgent(job_id=j, agent=a) for j, names in agents.items() for a in names)


H = timedelta(hours=1)
D = timedelta(days=1)

ALICE_RUNS = [1.0, 2.0, 3.0, 10.0]
ALICE_WAITS = [0.5, 0.5, 1.0, 2.0]


@pytest.fixture
async def seeded(history: History) -> History:
    """alice: 4 completed + 2 failed debate, 1 cancelled parallel; bob: 3 sequential + 1 failed;
    one job of alice's outside the window on each side."""
    rows = [
        job("a1", "alice", "completed", T0 + H, run=1.0, wait=0.5),
        job("a2", "alice", "completed", T0 + H + timedelta(minutes=30), run=2.0, wait=0.5),
        job("a3", "alice", "completed", T0 + 2 * H, run=3.0, wait=1.0),
        job("a4", "alice", "completed", T0 + D + H, run=10.0, wait=2.0),
        job("a5", "alice", "failed", T0 + D + 2 * H, run=4.0, wait=3.0, code="llm_timeout"),
        job("a6", "alice", "failed", T0 + D + 2 * H, run=None, wait=None, code="invalid_request"),
        job("a7", "alice", "cancelled", T0 + 2 * D, mode="parallel", run=None, wait=1.5),
        job("b1", "bob", "completed", T0 + H, mode="sequential", run=5.0, wait=0.1),
        job("b2", "bob", "completed", T0 + H, mode="sequential", run=6.0, wait=0.2),
        job("b3", "bob", "completed", T0 + 2 * H, mode="sequential", run=7.0, wait=0.3),
        job("b4", "bob", "failed", T0 + 2 * H, mode="sequential", run=1.0, wait=0.4,
            code="llm_timeout"),
        job("early", "alice", "failed", T0 - timedelta(microseconds=1), code="x"),
        job("late", "alice", "failed", WINDOW[1], code="x"),
    ]
    agents = {"a1": ["summary", "rag"], "a2": ["summary"], "a3": ["summary", "rag"],
              "a4": ["summary"], "a5": ["summary", "rag"], "a6": ["summary"],
              "a7": ["research"], "b1": ["research"], "b2": ["research"], "b3": ["research"],
              "b4": ["research", "rag"]}
    await insert(history, rows, agents)
    return history


def q(owner: str | None = "alice", group_by: GroupBy | None = None) -> StatsQuery:
    return StatsQuery(*WINDOW, owner=owner, group_by=group_by, busiest=0 if owner else 10)


async def test_one_owners_totals(seeded: History) -> None:
    out = await compute_stats(seeded, q())
    t = out.total
    counts = (t.jobs, t.by_status.completed, t.by_status.failed, t.by_status.cancelled)
    assert counts == (7, 4, 2, 1)
    assert t.success_rate == pytest.approx(4 / 6)
    assert t.run_time_s.count == 4  # completed jobs only
    assert t.run_time_s.p50 == pytest.approx(2.5)  # between 2 and 3
    assert t.run_time_s.p95 == pytest.approx(3 + 0.85 * 7)  # pos 2.85 → 3 + .85·(10 − 3)
    assert t.run_time_s.p99 == pytest.approx(reference_percentile(ALICE_RUNS, 0.99))
    waits = [*ALICE_WAITS, 3.0, 1.5]  # every job that started, whatever its end
    assert t.queue_wait_s.count == 6
    for p, got in zip((0.5, 0.95, 0.99), (t.queue_wait_s.p50, t.queue_wait_s.p95,
                                          t.queue_wait_s.p99), strict=True):
        assert got == pytest.approx(reference_percentile(waits, p))
    assert t.failures_by_code == {"invalid_request": 1, "llm_timeout": 1}
    assert out.scope == "own" and out.busiest_users is None and out.groups == []


async def test_everyone_with_busiest_users(seeded: History) -> None:
    out = await compute_stats(seeded, q(owner=None))
    assert out.total.jobs == 11 and out.scope == "all"
    assert out.total.failures_by_code == {"llm_timeout": 2, "invalid_request": 1}
    assert list(out.total.failures_by_code) == ["llm_timeout", "invalid_request"]  # most first
    assert out.total.success_rate == pytest.approx(7 / 10)
    assert out.busiest_users is not None
    assert [(u.owner, u.jobs, u.failed) for u in out.busiest_users] == [
        ("alice", 7, 2), ("bob", 4, 1)]
    assert out.busiest_users[1].run_time_s == pytest.approx(19.0)


async def test_percentiles_match_percentile_cont_on_many_values(history: History) -> None:
    rng = random.Random(16)
    runs = [round(rng.lognormvariate(1, 1), 3) for _ in range(257)]
    rows = [job(f"j{i}", "carol", "completed", T0 + timedelta(seconds=i), run=r, wait=r / 7)
            for i, r in enumerate(runs)]
    await insert(history, rows, {})
    t = (await compute_stats(history, q("carol"))).total
    assert t.run_time_s.count == 257
    for p, got in ((0.5, t.run_time_s.p50), (0.95, t.run_time_s.p95), (0.99, t.run_time_s.p99)):
        assert got == pytest.approx(reference_percentile(runs, p), rel=1e-6)
    assert t.queue_wait_s.p99 == pytest.approx(
        reference_percentile([r / 7 for r in runs], 0.99), rel=1e-5)


async def test_a_single_value_is_every_percentile(history: History) -> None:
    await insert(history, [job("only", "dan", "completed", T0 + H, run=4.25)], {})
    t = (await compute_stats(history, q("dan"))).total
    assert (t.run_time_s.p50, t.run_time_s.p95, t.run_time_s.p99) == (4.25, 4.25, 4.25)


async def test_nothing_in_the_window(seeded: History) -> None:
    out = await compute_stats(seeded, q("nobody", GroupBy.MODE))
    assert out.total.jobs == 0 and out.total.success_rate is None
    assert out.total.run_time_s.count == 0 and out.total.run_time_s.p50 is None
    assert out.groups == []


async def test_since_is_inclusive_and_until_exclusive(seeded: History) -> None:
    exact = StatsQuery(T0 + H, T0 + 2 * H, owner="alice")
    out = await compute_stats(seeded, exact)
    assert out.total.jobs == 2  # a1 at T0+1h counts, a3 at T0+2h does not
    wide = StatsQuery(T0 - D, T0 + 4 * D, owner="alice")
    assert (await compute_stats(seeded, wide)).total.jobs == 9  # early and late too


def by_key(out: Any) -> dict[str | None, Any]:
    return {g.key: g for g in out.groups}


async def test_group_by_mode(seeded: History) -> None:
    groups = by_key(await compute_stats(seeded, q(owner=None, group_by=GroupBy.MODE)))
    assert set(groups) == {"debate", "parallel", "sequential"}
    assert groups["debate"].jobs == 6 and groups["sequential"].jobs == 4
    assert groups["sequential"].run_time_s.p50 == pytest.approx(6.0)
    assert groups["sequential"].failures_by_code == {"llm_timeout": 1}
    assert groups["parallel"].by_status.cancelled == 1 and groups["parallel"].success_rate is None
    assert groups["debate"].success_rate == pytest.approx(4 / 6)


async def test_group_by_day(seeded: History) -> None:
    out = await compute_stats(seeded, q(group_by=GroupBy.DAY))
    assert [(g.key, g.jobs) for g in out.groups] == [
        ("2026-03-01", 3), ("2026-03-02", 3), ("2026-03-03", 1)]
    assert out.groups[0].run_time_s.p50 == pytest.approx(2.0)


async def test_group_by_hour(seeded: History) -> None:
    out = await compute_stats(seeded, q(group_by=GroupBy.HOUR))
    assert [(g.key, g.jobs) for g in out.groups] == [
        ("2026-03-01T01:00:00+00:00", 2), ("2026-03-01T02:00:00+00:00", 1),
        ("2026-03-02T01:00:00+00:00", 1), ("2026-03-02T02:00:00+00:00", 2),
        ("2026-03-03T00:00:00+00:00", 1)]
    assert out.groups[0].run_time_s.p50 == pytest.approx(1.5)


async def test_group_by_agent_counts_every_job_an_agent_took_part_in(seeded: History) -> None:
    groups = by_key(await compute_stats(seeded, q(owner=None, group_by=GroupBy.AGENT)))
    assert {k: g.jobs for k, g in groups.items()} == {"summary": 6, "rag": 4, "research": 5}
    assert groups["rag"].failures_by_code == {"llm_timeout": 2}
    assert groups["rag"].run_time_s.count == 2  # a1, a3 completed
    assert groups["rag"].run_time_s.p50 == pytest.approx(2.0)
    # the total still counts each job once
    out = await compute_stats(seeded, q(owner=None, group_by=GroupBy.AGENT))
    assert out.total.jobs == 11


async def test_group_by_owner(seeded: History) -> None:
    out = await compute_stats(seeded, q(owner=None, group_by=GroupBy.OWNER))
    assert [(g.key, g.jobs, g.by_status.failed) for g in out.groups] == [
        ("alice", 7, 2), ("bob", 4, 1)]
    assert out.groups[1].queue_wait_s.p50 == pytest.approx(0.25)
    assert not out.groups_truncated


async def test_owner_groups_beyond_the_cap_keep_the_busiest(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobgate.history import analytics

    monkeypatch.setattr(analytics, "MAX_GROUPS", 2)
    rows = [job(f"{o}{i}", o, "completed", T0 + H, run=float(i + 1))
            for o, n in (("u1", 1), ("u2", 3), ("u3", 2)) for i in range(n)]
    await insert(history, rows, {})
    out = await compute_stats(history, q(owner=None, group_by=GroupBy.OWNER))
    assert out.groups_truncated
    assert [(g.key, g.jobs) for g in out.groups] == [("u2", 3), ("u3", 2)]
    assert out.groups[0].run_time_s.p50 == pytest.approx(2.0)
    assert out.total.jobs == 6


async def test_the_owner_window_uses_its_index(history: History) -> None:
    """The plans read an index, not the whole table (on a tiny table PostgreSQL
    may take either owner index; the bench shows the plans at 1M rows)."""
    stmt = counts_statement(q("alice"), history.dialect)
    plan = await explain(history, stmt)
    assert "ix_jobgate_jobs_owner_" in plan, plan
    if history.dialect == "sqlite":
        assert "ix_jobgate_jobs_owner_completed" in plan, plan
    stmt = percentiles_statement(q(None), history.dialect, "run_time_s")
    plan = await explain(history, stmt)
    assert "ix_jobgate_jobs_completed" in plan or "ix_jobgate_jobs_status_completed" in plan, plan


async def explain(history: History, stmt: Any) -> str:
    compiled = stmt.compile(history.engine, compile_kwargs={"literal_binds": True})
    async with history.engine.connect() as conn:
        if history.dialect == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))
            rows = await conn.execute(text(f"EXPLAIN {compiled}"))
        else:
            rows = await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        return "\n".join(str(r[-1]) for r in rows)


# -- the caller's parameters -------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_defaults_are_the_last_week() -> None:
    sq = make_query(NOW, None, None, None, owner="alice", operator=False)
    assert (sq.since, sq.until, sq.owner, sq.busiest) == (NOW - 7 * D, NOW, "alice", 0)
    everyone = make_query(NOW, None, None, GroupBy.OWNER, owner=None, operator=True)
    assert everyone.busiest == 10 and everyone.group_by is GroupBy.OWNER


def test_a_naive_time_is_utc() -> None:
    sq = make_query(NOW, datetime(2026, 5, 30), None, None, owner="a", operator=False)
    assert sq.since == datetime(2026, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(("since", "until", "group_by", "needle"), [
    (NOW, NOW, None, "since must be before until"),
    (NOW + H, NOW, None, "since must be before until"),
    (NOW - 500 * D, NOW, None, "more than 400 days"),
    (NOW - 40 * D, NOW, GroupBy.HOUR, "group_by=hour spans at most 31 days"),
    (None, datetime.min.replace(tzinfo=UTC), None, "until is out of range"),
])
def test_bad_windows_are_422(
    since: datetime | None, until: datetime | None, group_by: GroupBy | None, needle: str
) -> None:
    with pytest.raises(InvalidRequest, match=needle):
        make_query(NOW, since, until, group_by, owner="a", operator=False)


def test_group_by_owner_is_for_operators() -> None:
    with pytest.raises(Forbidden, match="operators"):
        make_query(NOW, None, None, GroupBy.OWNER, owner="a", operator=False)
