"""Workloads 1, 2, 3, 5 (generic part) and 6, for every system on the shared Valkey.

A round of one system: sequential submit, concurrent submit, then the drain
of the jobs the concurrent producers left queued; retention is read after
the drain (used_memory and keys per finished job).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import commands_delta, commandstats, cpu_seconds_of_tree
from bench.server import ROOT, Background, Valkey, driver_env, python_for, run_json, wait_file
from bench.systems import System

LOGS = Path(tempfile.mkdtemp(prefix="bench-logs-"))


def _python(s: System) -> str:
    return python_for(s.peer)


def _env(s: System, v: Valkey, **extra: str) -> dict[str, str]:
    return driver_env(v.url, s.pythonpath(str(ROOT)), **extra)


def start_worker(s: System, v: Valkey, concurrency: int, expect: int = 0,
                 done: Path | None = None) -> Background:
    extra = {"BENCH_CONCURRENCY": str(concurrency)}
    if expect and done:
        extra |= {"BENCH_EXPECT": str(expect), "BENCH_DONE_FILE": str(done)}
    args = s.args(_python(s), "worker", v.url, "--concurrency", str(concurrency))
    return Background(args, _env(s, v, **extra), LOGS / f"{s.driver}-{s.variant}.log")


def submit(s: System, v: Valkey, n: int, producers: int) -> dict[str, Any]:
    args = s.args(_python(s), "submit", v.url, "--n", str(n), "--producers", str(producers))
    return run_json(args, _env(s, v), timeout=n / 50 + 60)


def round_of(s: System, v: Valkey, n_seq: int, n: int, concurrency: int) -> dict[str, Any]:
    r = v.client()
    r.flushall()
    seq = submit(s, v, n_seq, 1)
    r.flushall()
    mem0 = int(r.info("memory")["used_memory"])
    conc = submit(s, v, n, 32)
    cpu0 = _valkey_cpu(r)
    done = LOGS / f"done-{s.driver}-{s.variant}-{time.monotonic_ns()}.json"
    w = start_worker(s, v, concurrency, expect=n, done=done)
    try:
        drain = wait_file(done, w, timeout=n / 40 + 60)
        time.sleep(1.0)  # the last results land
        mem1, keys = int(r.info("memory")["used_memory"]), int(r.dbsize())
        drain["valkey_cpu_us_per_job"] = (_valkey_cpu(r) - cpu0) / n * 1e6
    finally:
        w.stop()
    return {
        "submit_seq": seq, "submit_conc": conc, "drain": drain,
        "retention": {"bytes_per_job": (mem1 - mem0) / n, "keys_per_job": keys / n},
    }


def _valkey_cpu(r: Any) -> float:
    """Valkey's own CPU seconds so far: the server is the shared bottleneck."""
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def latency(s: System, v: Valkey, rate: float, n: int, concurrency: int) -> dict[str, Any]:
    v.client().flushall()
    w = start_worker(s, v, concurrency)
    try:
        time.sleep(1.0)
        args = s.args(_python(s), "latency", v.url, "--n", str(n), "--rate", f"{rate:.1f}")
        return run_json(args, _env(s, v), timeout=n / max(rate, 1) + 120)
    finally:
        w.stop()


def idle(s: System, v: Valkey, seconds: float, concurrency: int) -> dict[str, Any]:
    r = v.client()
    r.flushall()
    w = start_worker(s, v, concurrency)
    try:
        time.sleep(3.0)  # start-up done
        c0, cpu0, t0 = commandstats(r), cpu_seconds_of_tree(w.pid), time.monotonic()
        time.sleep(seconds)
        c1, cpu1, dt = commandstats(r), cpu_seconds_of_tree(w.pid), time.monotonic() - t0
    finally:
        w.stop()
    delta = commands_delta(c0, c1)
    return {"commands_per_s": sum(delta.values()) / dt, "worker_cpu_pct": (cpu1 - cpu0) / dt * 100,
            "commands": delta}
