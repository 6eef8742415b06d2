"""Analytics over the job history: the caller's own at /api/multi-agent/stats,
everyone's at /api/admin/stats (operators only).

The figures are aggregated by the database (history/analytics.py); this
module only reads the parameters and checks who may ask for what.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.exc import SQLAlchemyError

from jobgate.api.auth import CurrentPrincipal
from jobgate.api.deps import Hist
from jobgate.errors import Forbidden, StoreUnavailable
from jobgate.history.analytics import compute_stats, make_query
from jobgate.history.stats_models import GroupBy, StatsResponse
from jobgate.models import ErrorResponse

log = logging.getLogger(__name__)


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """The history database failing (down, or not migrated yet) is a 503 the
    client retries, never a 500."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        log.warning("history database unavailable: %s", exc)
        raise StoreUnavailable("history database unavailable; retry shortly") from exc


Since = Annotated[datetime | None, Query(
    description="start of the window, inclusive (ISO 8601; no offset means UTC); "
    "default: a week before `until`")]
Until = Annotated[datetime | None, Query(
    description="end of the window, exclusive; default: now")]
By = Annotated[GroupBy | None, Query(
    description="split the figures by coordination mode, UTC day or hour of completion, "
    "agent (each job counts for every agent that took part) or owner (operators only)")]

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "no or bad token"},
    403: {"model": ErrorResponse, "description": "group_by=owner, or the operators' "
          "endpoint, without the jobgate:admin scope"},
    422: {"model": ErrorResponse, "description": "since not before until, a window over "
          "400 days, or group_by=hour over 31 days"},
    503: {"model": ErrorResponse, "description": "the history database is unavailable"},
}


async def own_stats(
    principal: CurrentPrincipal, history: Hist, since: Since = None, until: Until = None,
    group_by: By = None,
) -> StatsResponse:
    """Your jobs that ended in the window: counts by status, success rate, run time
    and queue wait percentiles (p50/p95/p99), failures by error code."""
    q = make_query(datetime.now(UTC), since, until, group_by, owner=principal.user_id,
                   operator=principal.is_admin)
    with database_errors():
        return await compute_stats(history, q)


async def all_stats(
    principal: CurrentPrincipal, history: Hist, response: Response, since: Since = None,
    until: Until = None, group_by: By = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=200,
                                       description="only this user's jobs")] = None,
) -> StatsResponse:
    """Everyone's jobs (or one owner's), with the busiest users. Operators only."""
    if not principal.is_admin:
        raise Forbidden("this endpoint is for operators: it needs a token whose scope "
                        "includes jobgate:admin")
    response.headers["Cache-Control"] = "no-store"
    q = make_query(datetime.now(UTC), since, until, group_by, owner=None, operator=True)
    if owner is not None:
        q = replace(q, owner=owner)
    with database_errors():
        return await compute_stats(history, q)


def router() -> APIRouter:
    r = APIRouter(tags=["analytics"], responses=_ERRORS)
    r.add_api_route("/api/multi-agent/stats", own_stats, methods=["GET"],
                    response_model=StatsResponse, summary="Analytics of your own jobs")
    r.add_api_route("/api/admin/stats", all_stats, methods=["GET"],
                    response_model=StatsResponse, summary="Analytics of every user's jobs")
    return r
