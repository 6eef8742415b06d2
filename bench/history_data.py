"""Archived jobs made in bulk, in SQL, for the analytics bench.

`INSERT … SELECT` over a generated sequence (PostgreSQL `generate_series`,
SQLite a recursive CTE): a million rows without a million round trips.
Every value is a function of the row number, so both databases hold the
same data:

- completion times spread evenly over `DAYS` days ending at `END`;
- 1,000 owners (`user-<i % 1000>`), five coordination modes in turn;
- 5 % failed (four error codes in turn), 2 % cancelled, the rest completed;
- run time 1–101 s and queue wait 0–5 s from multiplicative hashes of i;
- one row in ten has a product and a short result text (the search index
  and its triggers do their work as the rows go in);
- agents: every job has `summary`, even rows `research`, every third `rag`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 30
USERS = 1000
START = END - timedelta(days=DAYS)

_COLUMNS = """job_id, kind, owner, status, priority, mode, primary_agent, product_id, request,
    result, error_code, error_detail, message, progress, step, attempt, created_at, started_at,
    completed_at, queue_wait_s, run_time_s, archived_at"""


def _values(dialect: str, n: int) -> str:
    """The SELECT list for row i (an integer column `i` in the FROM clause)."""
    step = DAYS * 86_400 / n
    modes = ["sequential", "parallel", "collaborative", "debate", "enhanced_collaborative"]
    codes = ["llm_timeout", "llm_error", "worker_lost", "invalid_request"]
    pg = dialect == "postgresql"

    def pick(options: list[str], index: str) -> str:
        whens = " ".join(f"WHEN {k} THEN '{v}'" for k, v in enumerate(options))
        return f"CASE {index} {whens} END"

    def at(offset_s: str) -> str:
        if pg:
            return f"(TIMESTAMPTZ '{START.isoformat()}' + make_interval(secs => {offset_s}))"
        base = int(START.timestamp())
        return (f"(strftime('%Y-%m-%d %H:%M:%S', {base} + CAST({offset_s} AS INTEGER), "
                "'unixepoch') || '.000000')")

    status = "CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 50 = 1 THEN 'cancelled' " \
             "ELSE 'completed' END"
    run = "(1 + ((i * 7919) % 1000) / 10.0)"
    wait = "(((i * 104729) % 500) / 100.0)"
    done = f"({step} * i)"
    json = ("jsonb_build_object('query', 'question ' || i)" if pg
            else "json_object('query', 'question ' || i)")
    result_obj = ("jsonb_build_object('response', 'answer about topic ' || (i % 997) "
                  "|| ' for product ' || (i % 100))" if pg else
                  "json_object('response', 'answer about topic ' || (i % 997) "
                  "|| ' for product ' || (i % 100))")
    return f"""
        'b' || i, 'multi_agent', 'user-' || (i % {USERS}), {status}, 'normal',
        {pick(modes, "(i % 5)")}, 'summary',
        CASE WHEN i % 10 = 0 THEN 'prod-' || (i % 100) END,
        {json},
        CASE WHEN i % 20 <> 0 AND i % 50 <> 1 THEN {result_obj} END,
        CASE WHEN i % 20 = 0 THEN {pick(codes, "((i / 20) % 4)")} END,
        NULL, 'done', 1.0, NULL, 1,
        {at(f"{done} - {run} - {wait}")}, {at(f"{done} - {run}")}, {at(done)},
        {wait}, {run}, {at(done)}"""


def jobs_insert(dialect: str, first: int, n: int, total: int) -> str:
    """Rows first … first + n − 1 of a table that will hold `total`."""
    if dialect == "postgresql":
        return (f"INSERT INTO jobgate_jobs ({_COLUMNS}) SELECT {_values(dialect, total)} "
                f"FROM generate_series({first}::bigint, {first + n - 1}) AS s(i)")
    return (f"WITH RECURSIVE seq(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM seq "
            f"WHERE i < {first + n - 1}) "
            f"INSERT INTO jobgate_jobs ({_COLUMNS}) SELECT {_values(dialect, total)} FROM seq")


def agents_insert(first: int) -> str:
    """The agents of every generated job from row `first` on (after those jobs)."""
    rows = f"job_id LIKE 'b%' AND CAST(substr(job_id, 2) AS INTEGER) >= {first}"
    return f"""INSERT INTO jobgate_job_agents (job_id, agent)
        SELECT job_id, 'summary' FROM jobgate_jobs WHERE {rows}
        UNION ALL SELECT job_id, 'research' FROM jobgate_jobs
            WHERE {rows} AND CAST(substr(job_id, 2) AS INTEGER) % 2 = 0
        UNION ALL SELECT job_id, 'rag' FROM jobgate_jobs
            WHERE {rows} AND CAST(substr(job_id, 2) AS INTEGER) % 3 = 0"""
