"""Medians, ratios to jobgate, the Markdown table and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.common import median

# (workload key, metric path, label, higher is better)
HEADLINE = [
    ("submit_seq", "jobs_per_s", "submit 1 producer (jobs/s)", True),
    ("submit_conc", "jobs_per_s", "submit 32 producers (jobs/s)", True),
    ("submit_conc", "p99_ms", "submit p99 ms (32)", False),
    ("submit_conc", "commands_per_job", "Redis cmds/job (submit)", False),
    ("drain", "jobs_per_s", "drain (jobs/s)", True),
    ("drain", "cpu_us_per_job", "worker CPU µs/job", False),
    ("drain", "valkey_cpu_us_per_job", "Valkey CPU µs/job (drain)", False),
]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def valkey_version(r: Any) -> str:
    info = r.info("server")
    return str(info.get("valkey_version") or info.get("redis_version"))


def medians(rounds: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for wl in ("submit_seq", "submit_conc", "drain", "retention"):
        metrics = {k for r in rounds for k, v in r.get(wl, {}).items()
                   if isinstance(v, int | float)}
        out[wl] = {m: median([float(r[wl][m]) for r in rounds if m in r.get(wl, {})])
                   for m in sorted(metrics)}
    return out


def ratios(results: dict[str, Any]) -> None:
    """Add `ratio` (system ÷ jobgate) beside every numeric figure."""
    ours = results["systems"].get("jobgate", {}).get("median", {})
    for s in results["systems"].values():
        med = s.get("median", {})
        s["ratio_to_jobgate"] = {
            wl: {m: (v / ours[wl][m] if ours.get(wl, {}).get(m) else None)
                 for m, v in vals.items()}
            for wl, vals in med.items()
        }


def fmt(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return f"{v:,.{digits}f}" if isinstance(v, int | float) else str(v)


def table(results: dict[str, Any]) -> str:
    sysres = results["systems"]
    ours = sysres.get("jobgate", {}).get("median", {})
    head = "| system | " + " | ".join(h[2] for h in HEADLINE) + " | delivery |"
    lines = [head, "|" + "---|" * (len(HEADLINE) + 2)]
    for name, s in sysres.items():
        if "error" in s and not s.get("median"):
            lines.append(f"| {name} | not run: {s['error'][:120]} |" + " |" * len(HEADLINE))
            continue
        cells = []
        for wl, m, _, _higher in HEADLINE:
            v = s.get("median", {}).get(wl, {}).get(m)
            o = ours.get(wl, {}).get(m)
            digits = 1 if m in ("p99_ms", "commands_per_job") else 0
            if v != v:
                cells.append("–")
                continue
            if v is None:
                cells.append("–")
                continue
            ratio = (v / o) if o else None
            cells.append(f"{fmt(v, digits)} ({fmt(ratio, 2)}×)" if ratio else fmt(v, digits))
        note = s.get("guarantee", "") + (f"; {s['note']}" if s.get("note") else "")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {note} |")
    return "\n".join(lines)


def latency_table(results: dict[str, Any]) -> str:
    lines = ["| system | load | rate/s | submit→start p50/p99 ms | end→notice p50/p99 ms |",
             "|---|---|---|---|---|"]
    for name, s in results["systems"].items():
        for load, lat in s.get("latency", {}).items():
            if "error" in lat:
                lines.append(f"| {name} | {load} | – | error: {lat['error'][:80]} | |")
                continue
            lines.append(
                f"| {name} | {load} | {fmt(lat['rate'])} | {fmt(lat['start_p50_ms'], 1)} / "
                f"{fmt(lat['start_p99_ms'], 1)} | {fmt(lat['notice_p50_ms'], 1)} / "
                f"{fmt(lat['notice_p99_ms'], 1)} |")
    return "\n".join(lines)


def other_tables(results: dict[str, Any]) -> str:
    out = ["| system | retention bytes/job | keys/job | idle cmds/s | idle worker CPU % |",
           "|---|---|---|---|---|"]
    for name, s in results["systems"].items():
        ret = s.get("median", {}).get("retention", {})
        idle = s.get("idle", {})
        out.append(f"| {name} | {fmt(ret.get('bytes_per_job'))} | "
                   f"{fmt(ret.get('keys_per_job'), 2)} | {fmt(idle.get('commands_per_s'), 1)} | "
                   f"{fmt(idle.get('worker_cpu_pct'), 2)} |")
    http = results.get("http_waiting", [])
    if http:
        out += ["", "| users | wait by | job s | requests/job | notice p50 / p99 ms | API CPU s |"
                " API RSS peak MB | Redis cmds/job |", "|---|---|---|---|---|---|---|---|"]
        for h in http:
            if "error" in h:
                out.append(f"| {h['users']} | {h['mode']} | {fmt(h['job_s'])} | failed: "
                           f"{h['error'][:100]} | | | | |")
                continue
            out.append(f"| {h['users']} | {h['mode']} | {fmt(h['job_s'], 0)} | "
                       f"{fmt(h['requests_per_job'], 1)} | {fmt(h['notice_p50_ms'], 1)} / "
                       f"{fmt(h['notice_p99_ms'], 1)} | {fmt(h['api_cpu_s'], 2)} | "
                       f"{fmt(h['api_rss_peak_mb'], 0)} | {fmt(h['redis_commands_per_job'], 1)} |"
                       + (f" {h['errors']} errors, e.g. {h['first_errors'][:1]}" if h.get("errors")
                          else ""))
    return "\n".join(out)


def write(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    ratios(results)
    md = "\n\n".join([
        f"# jobgate benchmark — {results['started']}",
        "Machine: " + json.dumps(results["machine"]),
        f"Mode: {results['config']}",
        "## Submit and drain (medians; ratio to jobgate in brackets)", table(results),
        "## Latency (Poisson arrivals; each system's own way of waiting)", latency_table(results),
        "## Retention, idle, HTTP waiting", other_tables(results),
        "## Extra", "```json\n" + json.dumps(results.get("extra", {}), indent=1) + "\n```",
    ])
    (out_dir / "latest.md").write_text(md + "\n")
    (out_dir / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    return out_dir / "latest.md"


def redis_benchmark(port: int, n: int) -> dict[str, float]:
    """SET, XADD, EVALSHA at -P 1 on the same server: the yardstick of this run."""
    exe = "redis-benchmark"
    out: dict[str, float] = {}
    tests = {
        "SET": ["-t", "set"],
        "XADD": ["xadd", "bench:yard", "*", "f", "v"],
        "EVALSHA": ["evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    }
    base = [exe, "-p", str(port), "-n", str(n), "-c", "32", "-P", "1", "-q", "--csv"]
    try:
        subprocess.run(["redis-cli", "-p", str(port), "script", "load", "return 1"],
                       capture_output=True, timeout=10)
        for name, args in tests.items():
            cmd = base + args
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            rows = [ln for ln in p.stdout.splitlines() if ln.startswith('"') and "test" not in ln]
            if rows:
                out[f"{name}_rps"] = float(rows[-1].split(",")[1].strip('"'))
    except (OSError, subprocess.SubprocessError) as exc:
        out["error"] = str(exc)  # type: ignore[assignment]
    return out
