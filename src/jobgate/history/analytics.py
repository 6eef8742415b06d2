"""Analytics over the archive: counts, success rate, percentiles, failures, load.

Everything is aggregated by the database; Python only receives one row per
(group, status), per (group, error code), per group for each percentile set.

- The window is on `completed_at` (when a job ended), `since` inclusive,
  `until` exclusive; with an owner it uses (owner, completed_at), without
  one (completed_at) (indexes of migrations 0001 and 0002).
- Run time percentiles are over *completed* jobs: "how long does a debate
  take" means the ones that finished. Queue wait percentiles are over every
  job that started (a failed job waited in the queue like any other).
- Percentiles are continuous (linear interpolation between the two nearest
  ranks, as PostgreSQL's `percentile_cont`). SQLite has no percentile
  function: the same value comes from `ROW_NUMBER()` and `COUNT()` windows,
  in SQL, by weighting the two rows either side of the position.
- `success_rate` is completed / (completed + failed): a cancel is the
  caller's choice, not a failure (it stays visible in `by_status`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from jobgate.errors import Forbidden, InvalidRequest
from jobgate.history.db import History
from jobgate.history.models import JobAgent, JobRow
from jobgate.history.stats_models import (
    PERCENTILES,
    GroupBy,
    GroupStats,
    Percentiles,
    StatsBlock,
    StatsResponse,
    StatusCounts,
    UserLoad,
)

__all__ = ["StatsQuery", "compute_stats", "make_query", "success_rate"]

MAX_GROUPS = 500
"""Most groups one answer carries; only `owner` can have more (then the busiest)."""

BUSIEST_USERS = 10
Query: TypeAlias = Select[*tuple[Any, ...]]
_JOBS = JobRow.__table__
_AGENTS = JobAgent.__table__
_jobs = _JOBS.c
_agents = _AGENTS.c
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=400)
MAX_HOURLY_WINDOW = timedelta(days=31)
"""At most 744 hourly groups; a longer span reads better by day."""


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """What to aggregate: a window, whose jobs (None: everyone's), how to group."""

    since: datetime
    until: datetime
    owner: str | None = None
    group_by: GroupBy | None = None
    busiest: int = 0  # how many busiest users to list (operators); 0: none


def _utc(value: datetime | None, name: str) -> datetime | None:
    """Aware UTC; a naive value is read as UTC (a bare date means its midnight)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(f"{name} is out of range") from None


def make_query(
    now: datetime,
    since: datetime | None,
    until: datetime | None,
    group_by: GroupBy | None,
    *,
    owner: str | None,
    operator: bool,
) -> StatsQuery:
    """The query for a caller's parameters, or the 4xx that explains what is wrong.

    `until` defaults to now and `since` to a week before `until`; `owner`
    None means everyone's jobs (the operators' endpoint, which also lists
    the busiest users).
    """
    if group_by is GroupBy.OWNER and not operator:
        raise Forbidden("group_by=owner is for operators (a token with scope jobgate:admin)")
    end = _utc(until, "until") or now
    start = _utc(since, "since")
    if start is None:
        try:
            start = end - DEFAULT_WINDOW
        except OverflowError:
            raise InvalidRequest("until is out of range") from None
    if start >= end:
        raise InvalidRequest("since must be before until")
    if end - start > MAX_WINDOW:
        raise InvalidRequest(f"the window spans more than {MAX_WINDOW.days} days; "
                             "narrow since/until")
    if group_by is GroupBy.HOUR and end - start > MAX_HOURLY_WINDOW:
        raise InvalidRequest(f"group_by=hour spans at most {MAX_HOURLY_WINDOW.days} days; "
                             "narrow since/until or group by day")
    return StatsQuery(start, end, owner, group_by, BUSIEST_USERS if owner is None else 0)


def success_rate(counts: StatusCounts) -> float | None:
    """completed / (completed + failed); None when nothing finished either way."""
    decided = counts.completed + counts.failed
    return round(counts.completed / decided, 6) if decided else None


# --------------------------------------------------------------------------
# Query builders (pure: a statement from a StatsQuery and the dialect's name)


def _conditions(q: StatsQuery) -> list[ColumnElement[bool]]:
    conds = [_jobs.completed_at >= q.since, _jobs.completed_at < q.until]
    if q.owner is not None:
        conds.append(_jobs.owner == q.owner)
    return conds


def group_expr(group_by: GroupBy | None, dialect: str) -> ColumnElement[Any] | None:
    """The SQL expression a group's key is (a string, or NULL for "no mode")."""
    if group_by is None:
        return None
    if group_by is GroupBy.MODE:
        return _jobs.mode
    if group_by is GroupBy.OWNER:
        return _jobs.owner
    if group_by is GroupBy.AGENT:
        return _agents.agent
    day = group_by is GroupBy.DAY
    if dialect == "postgresql":
        fmt = "YYYY-MM-DD" if day else 'YYYY-MM-DD"T"HH24":00:00+00:00"'
        return func.to_char(func.timezone("UTC", _jobs.completed_at), fmt)
    # SQLite stores naive UTC text ("2026-01-02 03:04:05.000000"): strftime reads it
    return func.strftime("%Y-%m-%d" if day else "%Y-%m-%dT%H:00:00+00:00", _jobs.completed_at)


def _grouped(q: StatsQuery, dialect: str, keys: Sequence[str | None] | None,
             *columns: ColumnElement[Any]) -> tuple[Query, list[ColumnElement[Any]]]:
    """`select(group key, *columns)` over the window, joined to agents when needed."""
    g = group_expr(q.group_by, dialect)
    gcols = [] if g is None else [g.label("g")]
    stmt = select(*gcols, *columns).where(*_conditions(q))
    if q.group_by is GroupBy.AGENT:
        stmt = stmt.select_from(_JOBS).join(_AGENTS, _agents.job_id == _jobs.job_id)
    if g is not None and keys is not None:
        stmt = stmt.where(g.in_([k for k in keys if k is not None]))
    return stmt, [] if g is None else [g]


def counts_statement(q: StatsQuery, dialect: str) -> Query:
    """Jobs per (group, status)."""
    stmt, g = _grouped(q, dialect, None, _jobs.status, func.count().label("n"))
    return stmt.group_by(*g, _jobs.status)


def failures_statement(
    q: StatsQuery, dialect: str, keys: Sequence[str | None] | None = None
) -> Query:
    """Failed jobs per (group, error_code)."""
    stmt, g = _grouped(q, dialect, keys, _jobs.error_code, func.count().label("n"))
    return stmt.where(_jobs.status == "failed").group_by(*g, _jobs.error_code)


def _measured(column: str) -> tuple[ColumnElement[float], ColumnElement[bool]]:
    """The column and which rows it is measured over (see the module doc)."""
    if column == "run_time_s":
        return _jobs.run_time_s, and_(_jobs.run_time_s.is_not(None),
                                       _jobs.status == "completed")
    return _jobs.queue_wait_s, _jobs.queue_wait_s.is_not(None)


def percentiles_statement(
    q: StatsQuery, dialect: str, column: str, keys: Sequence[str | None] | None = None
) -> Query:
    """Per group: how many values, then p50, p95, p99 of `column`."""
    x, rows = _measured(column)
    if dialect == "postgresql":
        pcts = [func.percentile_cont(p).within_group(x).label(f"p{int(p * 100)}")
                for p in PERCENTILES]
        stmt, g = _grouped(q, dialect, keys, func.count(x).label("n"), *pcts)
        return stmt.where(rows).group_by(*g)
    return _window_percentiles(q, dialect, x, rows, keys)


def _window_percentiles(
    q: StatsQuery, dialect: str, x: ColumnElement[float], rows: ColumnElement[bool],
    keys: Sequence[str | None] | None,
) -> Query:
    """percentile_cont without the function: rank the values, weight two ranks.

    For n values in order and a fraction p, the position is 1 + p·(n − 1);
    with lo its integer part and f the rest, the percentile is
    (1 − f)·x[lo] + f·x[lo + 1]. Each row adds its share; all others add 0.
    """
    inner, g = _grouped(q, dialect, keys, x.label("x"))
    inner = inner.add_columns(  # one window, so the rows are sorted once
        func.row_number().over(partition_by=g, order_by=x).label("rn"),
        func.count().over(partition_by=g, order_by=x, rows=(None, None)).label("cnt"),
    ).where(rows)
    r = inner.subquery("ranked")
    outs: list[ColumnElement[Any]] = [func.count().label("n")]
    for p in PERCENTILES:
        pos = 1 + p * (r.c.cnt - 1)
        lo = cast(pos, Integer)  # truncation: pos ≥ 1, so this is floor
        f = cast(pos, Float) - lo
        share = case((r.c.rn == lo, r.c.x * (1 - f)), (r.c.rn == lo + 1, r.c.x * f), else_=0.0)
        outs.append(func.sum(share).label(f"p{int(p * 100)}"))
    gcols = [r.c.g] if g else []
    return select(*gcols, *outs).group_by(*gcols)


def busiest_statement(q: StatsQuery, limit: int) -> Query:
    """The owners with the most jobs in the window, with their failures and run time."""
    jobs = func.count().label("jobs")
    failed = func.sum(case((_jobs.status == "failed", 1), else_=0)).label("failed")
    busy = func.coalesce(func.sum(_jobs.run_time_s), 0.0).label("run_time_s")
    return (
        select(_jobs.owner, jobs, failed, busy)
        .where(*_conditions(q))
        .group_by(_jobs.owner)
        .order_by(jobs.desc(), _jobs.owner)
        .limit(limit)
    )


# --------------------------------------------------------------------------
# Running them


@dataclass
class _Acc:
    """One group's figures as the rows arrive."""

    counts: dict[str, int]
    failures: dict[str, int]
    run_time: Percentiles
    queue_wait: Percentiles

    @classmethod
    def empty(cls) -> _Acc:
        return cls({}, {}, Percentiles(), Percentiles())

    def block(self) -> StatsBlock:
        counts = StatusCounts(**{k: v for k, v in self.counts.items()
                                 if k in StatusCounts.model_fields})
        return StatsBlock(
            jobs=sum(self.counts.values()), by_status=counts, success_rate=success_rate(counts),
            run_time_s=self.run_time, queue_wait_s=self.queue_wait,
            failures_by_code=dict(sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
        )


def _key(row: Any, grouped: bool) -> str | None:
    return row.g if grouped else None


async def _aggregate(
    session: AsyncSession, q: StatsQuery, dialect: str
) -> tuple[dict[str | None, _Acc], bool]:
    """Every group's figures (one group, key None, when not grouped)."""
    grouped = q.group_by is not None
    accs: dict[str | None, _Acc] = {}
    for row in await session.execute(counts_statement(q, dialect)):
        acc = accs.setdefault(_key(row, grouped), _Acc.empty())
        acc.counts[row.status] = acc.counts.get(row.status, 0) + row.n
    truncated = len(accs) > MAX_GROUPS
    keys: list[str | None] | None = None
    if truncated:
        keep = sorted(accs, key=lambda k: (-sum(accs[k].counts.values()), k or ""))[:MAX_GROUPS]
        accs = {k: accs[k] for k in keep}
        keys = keep
    for row in await session.execute(failures_statement(q, dialect, keys)):
        if (k := _key(row, grouped)) in accs:
            accs[k].failures[row.error_code or "unknown"] = row.n
    for column in ("run_time_s", "queue_wait_s"):
        for row in await session.execute(percentiles_statement(q, dialect, column, keys)):
            if (k := _key(row, grouped)) in accs:
                pct = Percentiles.of(row.n, row.p50, row.p95, row.p99)
                if column == "run_time_s":
                    accs[k].run_time = pct
                else:
                    accs[k].queue_wait = pct
    return accs, truncated


def _order(key: str | None, acc: _Acc, group_by: GroupBy) -> tuple[Any, ...]:
    """Time groups in time order; the others busiest first."""
    if group_by in (GroupBy.DAY, GroupBy.HOUR):
        return (key or "",)
    return (-sum(acc.counts.values()), key or "")


async def compute_stats(history: History, q: StatsQuery) -> StatsResponse:
    """The figures for `q`, all aggregated in the database. On PostgreSQL every
    query reads one snapshot (REPEATABLE READ), so the counts and the
    percentiles agree while the archiver writes."""
    dialect = history.dialect
    async with history.sessions() as session:
        if dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        totals, _ = await _aggregate(session, replace(q, group_by=None), dialect)
        groups: list[GroupStats] = []
        truncated = False
        if q.group_by is not None:
            accs, truncated = await _aggregate(session, q, dialect)
            by = q.group_by
            ordered = sorted(accs.items(), key=lambda kv: _order(kv[0], kv[1], by))
            groups = [GroupStats(key=k, **a.block().model_dump()) for k, a in ordered]
        busiest = None
        if q.busiest:
            rows = await session.execute(busiest_statement(q, q.busiest))
            busiest = [UserLoad(owner=r.owner, jobs=r.jobs, failed=r.failed or 0,
                                run_time_s=round(float(r.run_time_s), 6)) for r in rows]
    total = totals.get(None, _Acc.empty()).block()
    return StatsResponse(
        since=q.since, until=q.until, group_by=q.group_by,
        scope="all" if q.owner is None else "own", total=total, groups=groups,
        groups_truncated=truncated, busiest_users=busiest,
    )
