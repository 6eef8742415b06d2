"""`python -m bench.history [--quick] [--rows 100000,1000000] [--dialects sqlite,postgresql]`

The history database measured on SQLite and PostgreSQL: archive throughput
(bench/history_archive.py) and the analytics of `/stats` and
`/api/admin/stats` (history/analytics.py, the very code the endpoints run)
over 100k and 1M generated archived jobs (bench/history_data.py). Each
dialect's table grows in place from one size to the next; after each
growth the planner statistics are refreshed (ANALYZE; PostgreSQL's
autovacuum would do it, SQLite keeps none until asked). Figures go to
bench/results/history.{md,json} (or --out).

PostgreSQL is a throwaway cluster in a temp dir (tests/history/pg.py), or
--database-url for a server of your own (an empty database; it is used
as is).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench import history_archive, history_data
from bench.server import ROOT
from jobgate.history.analytics import StatsQuery, compute_stats, counts_statement
from jobgate.history.db import History, open_url, upgrade_url
from jobgate.history.models import JobRow
from jobgate.history.search import search_results
from jobgate.history.stats_models import GroupBy

CHUNK = 100_000
OWNER = "user-10"

QUERIES: list[tuple[str, str | None, GroupBy | None, int]] = [
    ("own, 7 days", OWNER, None, 7),
    ("own, 7 days by mode", OWNER, GroupBy.MODE, 7),
    ("own, 30 days by day", OWNER, GroupBy.DAY, 30),
    ("all, 7 days (+ busiest users)", None, None, 7),
    ("all, 7 days by mode", None, GroupBy.MODE, 7),
    ("all, 7 days by hour", None, GroupBy.HOUR, 7),
    ("all, 7 days by agent", None, GroupBy.AGENT, 7),
    ("all, 7 days by owner", None, GroupBy.OWNER, 7),
    ("all, 30 days by day", None, GroupBy.DAY, 30),
]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.history")
    p.add_argument("--quick", action="store_true", help="2,000 rows, 400 archived: a smoke run")
    p.add_argument("--rows", default="100000,1000000", help="comma-separated table sizes")
    p.add_argument("--dialects", default="sqlite,postgresql")
    p.add_argument("--database-url", default=None, help="an empty PostgreSQL database to use")
    p.add_argument("--runs", type=int, default=3, help="timed runs per query (median)")
    p.add_argument("--archive-jobs", type=int, default=20_000)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return p.parse_args()


async def grow(h: History, have: int, want: int) -> float:
    """Generate rows have … want − 1 (and their agents); seconds taken."""
    t0 = time.perf_counter()
    for first in range(have, want, CHUNK):
        n = min(CHUNK, want - first)
        async with h.engine.begin() as conn:
            await conn.execute(text(history_data.jobs_insert(h.dialect, first, n, want)))
    async with h.engine.begin() as conn:
        await conn.execute(text(history_data.agents_insert(have)))
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


async def timed(h: History, q: StatsQuery, runs: int) -> tuple[float, int]:
    """Median milliseconds of `compute_stats`, and how many jobs it counted."""
    times, jobs = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        out = await compute_stats(h, q)
        times.append((time.perf_counter() - t0) * 1000)
        jobs = out.total.jobs
    return round(statistics.median(times), 1), jobs


async def plan_of(h: History, q: StatsQuery) -> str:
    """The database's plan for the counts of `q`: which index it reads."""
    sql = str(counts_statement(q, h.dialect).compile(h.engine, compile_kwargs={
        "literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if h.dialect == "sqlite" else "EXPLAIN "
    async with h.engine.connect() as conn:
        rows = (await conn.execute(text(prefix + sql))).all()
    return "\n".join(str(r[-1]) for r in rows)


async def analytics(h: History, sizes: list[int], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    have = 0
    end = history_data.END
    for size in sizes:
        load_s = await grow(h, have, size)
        have = size
        async with h.sessions() as s:
            count = await s.scalar(select(func.count()).select_from(JobRow))
        figures: dict[str, Any] = {"rows": count, "load_s": round(load_s, 1), "queries": {}}
        for label, owner, group_by, days in QUERIES:
            q = StatsQuery(end - timedelta(days=days), end, owner, group_by,
                           0 if owner else 10)
            ms, jobs = await timed(h, q, runs)
            figures["queries"][label] = {"ms": ms, "jobs": jobs}
            print(f"  {h.dialect} {size:>9,} {label:<32} {ms:>9.1f} ms ({jobs:,} jobs)",
                  flush=True)
        t0 = time.perf_counter()
        hits = await search_results(h, OWNER, "prod-10", "answer topic product 10", limit=8)
        figures["search_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        figures["search_hits"] = len(hits)
        week = end - timedelta(days=7)
        figures["plans"] = {
            "own, 7 days": await plan_of(h, StatsQuery(week, end, OWNER)),
            "all, 7 days": await plan_of(h, StatsQuery(week, end, None)),
        }
        out[str(size)] = figures
    return out


async def run_dialect(url: str, dialect: str, a: argparse.Namespace, sizes: list[int],
                      tmp: Path, fresh: Any) -> dict[str, Any]:
    n_archive = 400 if a.quick else a.archive_jobs
    print(f"{dialect}: upserts ({n_archive:,} rows) ...", flush=True)
    upsert = await history_archive.upsert_rate(fresh(), n_archive, 200)
    print(f"  {upsert}", flush=True)
    archiver = await history_archive.archiver_rate(fresh(), min(n_archive, 5000), tmp)
    print(f"  archiver {archiver}", flush=True)
    await upgrade_url(url)
    h = open_url(url)
    try:
        async with h.engine.connect() as conn:
            version = (await conn.execute(text(
                "SELECT version()" if dialect == "postgresql" else "SELECT sqlite_version()"
            ))).scalar_one()
        result = {"version": " ".join(str(version).split()[:2]), "upsert": upsert,
                  "archiver": archiver,
                  "analytics": await analytics(h, sizes, 1 if a.quick else a.runs)}
    finally:
        await h.close()
    return result


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite_module": sqlite3.sqlite_version,
            "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    sizes = [2000] if a.quick else [int(x) for x in a.rows.split(",") if x]
    dialects = [d for d in a.dialects.split(",") if d]
    tmp = Path(tempfile.mkdtemp(prefix="bench-history-"))
    res: dict[str, Any] = {"machine": machine(), "sizes": sizes, "dialects": {}}
    started = time.time()
    try:
        for dialect in dialects:
            if dialect == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp / 'analytics.db'}"
                res["dialects"][dialect] = await run_dialect(url, dialect, a, sizes, tmp,
                                                             _sqlite_files(tmp))
            else:
                res["dialects"][dialect] = await with_postgres(a, sizes, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a 1M-row SQLite file is about 1 GB
    res["wall_s"] = round(time.time() - started)
    res["machine"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return res


def _sqlite_files(tmp: Path) -> Any:
    """A maker of fresh SQLite database URLs in `tmp`."""
    counter = iter(range(10**6))
    return lambda: f"sqlite+aiosqlite:///{tmp / f'fresh-{next(counter)}.db'}"


async def with_postgres(a: argparse.Namespace, sizes: list[int], tmp: Path) -> dict[str, Any]:
    if a.database_url:
        return await run_dialect(a.database_url, "postgresql", a, sizes, tmp,
                                 lambda: a.database_url)
    from tests.history.pg import PgServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"postgresql skipped: {reason}")
        return {"skipped": reason}
    server = PgServer()
    server.start()
    try:
        return await run_dialect(server.create_database(), "postgresql", a, sizes, tmp,
                                 server.create_database)
    finally:
        server.destroy()


def main() -> None:
    from bench.history_report import markdown

    a = parse()
    res = asyncio.run(main_async(a))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "history.json").write_text(json.dumps(res, indent=2) + "\n")
    (a.out / "history.md").write_text(markdown(res))
    print(f"wrote {a.out / 'history.md'}")


if __name__ == "__main__":
    main()
