"""What every driver and the orchestrator share: measuring, timing, Redis stats.

Drivers are small programs that speak to one system through its own Python
API and print one JSON object on their last line; this module is stdlib plus
the sync `redis` client (every peer depends on it), so it imports in any venv.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import redis

ENV_EXPECT = "BENCH_EXPECT"  # jobs the instrumented task counts before it reports
ENV_DONE = "BENCH_DONE_FILE"  # where it writes its report


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def median(values: list[float]) -> float:
    vals = [v for v in values if v == v]  # drop NaN
    return statistics.median(vals) if vals else float("nan")


def commandstats(r: redis.Redis) -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats)."""
    info = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def commands_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made between two snapshots, without the INFO calls that took them."""
    out = {k: after[k] - before.get(k, 0) for k in after}
    out = {k: v for k, v in out.items() if v > 0 and k != "info"}
    return out


class TaskMeter:
    """Counts task runs inside a worker process; at the expected count it writes
    rate and CPU over the window first→last run to BENCH_DONE_FILE. Costs no
    Redis command, so every system's no-op task stays a no-op."""

    def __init__(self) -> None:
        self.expect = int(os.environ.get(ENV_EXPECT, "0") or 0)
        self.path = os.environ.get(ENV_DONE, "")
        self.count = 0
        self.lock = threading.Lock()
        self.t0 = 0.0
        self.cpu0 = 0.0

    def tick(self) -> None:
        if not self.expect:
            return
        with self.lock:
            self.count += 1
            if self.count == 1:
                self.t0, self.cpu0 = time.perf_counter(), _cpu()
            elif self.count == self.expect:
                dt, dcpu = time.perf_counter() - self.t0, _cpu() - self.cpu0
                n = self.expect - 1
                report = {"jobs": n, "seconds": dt, "jobs_per_s": n / dt,
                          "cpu_us_per_job": dcpu / n * 1e6, "pid": os.getpid()}
                Path(self.path).write_text(json.dumps(report))


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


METER = TaskMeter()


def noop_result(x: Any) -> dict[str, Any]:
    """What every system's no-op task does: count itself, stamp the time."""
    METER.tick()
    return {"x": x, "t": time.time()}


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def latency_stats(samples: list[tuple[float, float, float, float]]) -> dict[str, float]:
    """(t_submit, t_start, t_end, t_notice) → p50/p99 in ms of submit→start, end→notice."""
    ss = [(s - a) * 1000 for a, s, _, _ in samples]
    en = [(n - e) * 1000 for _, _, e, n in samples]
    return {
        "n": len(samples),
        "start_p50_ms": percentile(ss, 50), "start_p99_ms": percentile(ss, 99),
        "notice_p50_ms": percentile(en, 50), "notice_p99_ms": percentile(en, 99),
    }


def cpu_seconds_of_tree(pid: int) -> float:
    """User+system CPU of a process and all its descendants (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        ppid = int(rest[1])
        children.setdefault(ppid, []).append(int(d))
        stats[int(d)] = (int(rest[11]) + int(rest[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
