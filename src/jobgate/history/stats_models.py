"""The answers of `/stats` and `/api/admin/stats`, as they appear in the OpenAPI docs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from jobgate.models import _Wire

PERCENTILES = (0.5, 0.95, 0.99)


class GroupBy(StrEnum):
    """How to split the figures: by coordination mode, UTC day or hour of
    completion, each agent that took part, or owner (operators only)."""

    MODE = "mode"
    DAY = "day"
    HOUR = "hour"
    AGENT = "agent"
    OWNER = "owner"


class StatusCounts(_Wire):
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


class Percentiles(_Wire):
    """Continuous percentiles (linear interpolation) in seconds; null when `count` is 0."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    @classmethod
    def of(cls, n: int, *values: float | None) -> Percentiles:
        if not n:
            return cls()
        p50, p95, p99 = (None if v is None else round(float(v), 6) for v in values)
        return cls(count=n, p50=p50, p95=p95, p99=p99)


class StatsBlock(_Wire):
    jobs: int = Field(description="jobs that ended in the window")
    by_status: StatusCounts
    success_rate: float | None = Field(
        description="completed / (completed + failed); cancelled jobs are left out; "
        "null when there is neither")
    run_time_s: Percentiles = Field(description="started → completed, completed jobs only")
    queue_wait_s: Percentiles = Field(description="created → first start, every job that started")
    failures_by_code: dict[str, int] = Field(
        description="failed jobs per error_code, most frequent first")


class GroupStats(StatsBlock):
    key: str | None = Field(
        description="the mode, agent or owner; the day (YYYY-MM-DD, UTC) or the hour "
        "(ISO 8601, UTC); null for jobs without a mode")


class UserLoad(_Wire):
    owner: str
    jobs: int
    failed: int
    run_time_s: float = Field(description="total run time of the owner's jobs in the window")


class StatsResponse(_Wire):
    since: datetime
    until: datetime = Field(description="exclusive")
    group_by: GroupBy | None
    scope: Literal["own", "all"]
    total: StatsBlock
    groups: list[GroupStats] = Field(
        description="one per key; days and hours in time order, the rest busiest first")
    groups_truncated: bool = Field(
        description="more owners than one answer carries: the busiest are listed")
    busiest_users: list[UserLoad] | None = Field(
        description="operators only: the owners with the most jobs in the window")
