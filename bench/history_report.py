"""bench/results/history.md from the figures `python -m bench.history` gathered."""

from __future__ import annotations

from typing import Any


def _archive(res: dict[str, Any]) -> list[str]:
    lines = ["## Archive throughput (jobs/s into the database)", "",
             "| database | upsert, new rows | upsert, same rows again | archiver from the "
             "Valkey outbox |", "|---|---:|---:|---:|"]
    for name, d in res["dialects"].items():
        if "skipped" in d:
            lines.append(f"| {name} | skipped: {d['skipped']} | | |")
            continue
        u, a = d["upsert"], d["archiver"]
        lines.append(f"| {name} ({d['version']}) | {u['insert_jobs_per_s']:,.0f} "
                     f"| {u['reupsert_jobs_per_s']:,.0f} | {a['jobs_per_s']:,.0f} |")
    first = next((d for d in res["dialects"].values() if "upsert" in d), None)
    if first:
        lines += ["", f"Upserts: {first['upsert']['jobs']:,} multi-agent-sized rows (~8 KB "
                  f"result, three agents) in batches of {first['upsert']['batch']}. Archiver: "
                  f"{first['archiver']['jobs']:,} finished multi-agent jobs drained from an "
                  "embedded Valkey's outbox by `Archiver.drain()` (outbox read, row built, "
                  "upsert, TTL started)."]
    return lines


def _analytics(res: dict[str, Any]) -> list[str]:
    sizes = [str(s) for s in res["sizes"]]
    live = {n: d for n, d in res["dialects"].items() if "analytics" in d}
    cols = [(n, s) for n in live for s in sizes if s in live[n]["analytics"]]
    head = " | ".join(f"{n} {int(s):,}" for n, s in cols)
    lines = ["## Analytics (ms, median; the whole `compute_stats` of one request)", "",
             f"| query | {head} |", "|---|" + "---:|" * len(cols)]
    labels = next(iter(next(iter(live.values()))["analytics"].values()))["queries"] if live else {}
    for label in labels:
        cells = [live[n]["analytics"][s]["queries"][label]["ms"] for n, s in cols]
        lines.append(f"| {label} | " + " | ".join(f"{c:,.1f}" for c in cells) + " |")
    cells = [live[n]["analytics"][s]["search_ms"] for n, s in cols]
    lines.append("| search of earlier results (owner + product) | "
                 + " | ".join(f"{c:,.1f}" for c in cells) + " |")
    loads = [live[n]["analytics"][s]["load_s"] for n, s in cols]
    lines.append("| *(generating the rows, s)* | " + " | ".join(f"{c:,.1f}" for c in loads) + " |")
    jobs = [live[n]["analytics"][s]["queries"] for n, s in cols]
    if jobs:
        lines += ["", "Jobs in the window: " + "; ".join(
            f"{n} {int(s):,}: own 7 days {j['own, 7 days']['jobs']:,}, all 7 days "
            f"{j['all, 7 days (+ busiest users)']['jobs']:,}" for (n, s), j in zip(
                cols, jobs, strict=True))]
    return lines


def _plans(res: dict[str, Any]) -> list[str]:
    lines = ["## Plans at the largest size (the counts query)", ""]
    for name, d in res["dialects"].items():
        if "analytics" not in d:
            continue
        biggest = d["analytics"][str(max(res["sizes"]))]
        for label, plan in biggest["plans"].items():
            lines += [f"{name}, {label}:", "```", plan, "```", ""]
    return lines


def _load(m: dict[str, Any]) -> str:
    start, end = m.get("load_average_at_start"), m.get("load_average_at_end")
    if not start:
        return "not recorded"
    return f"{start[0]} at the start, {end[0] if end else '?'} at the end"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# History database bench", "",
        "`python -m bench.history` (bench/history.py). Machine: "
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']} (its SQLite "
        f"{m['sqlite_module']}); a shared box with other engineers' tests running "
        f"(load average {_load(m)}), so treat the figures as orders of magnitude. "
        f"Wall time {res['wall_s']} s.", "",
        *_archive(res), "",
        *_analytics(res), "",
        "Rows: completion times spread over 30 days, 1,000 owners, five modes, 5 % failed, "
        "2 % cancelled, one row in ten with a product and a result text; agents: every job "
        "`summary`, half `research`, a third `rag` (bench/history_data.py). \"own\" is one "
        "owner's `/api/multi-agent/stats`; \"all\" is `/api/admin/stats` (with the ten "
        "busiest users). Every query runs totals plus groups: counts by status, failures by "
        "code, run time and queue wait p50/p95/p99 (PostgreSQL `percentile_cont`, SQLite "
        "ROW_NUMBER/COUNT windows).", "",
        *_plans(res),
    ]
    return "\n".join(lines).rstrip() + "\n"
