"""jobgate-only measurements: memory per finished job by MEMORY USAGE, and a
py-spy profile of a drain run (kept in the results directory)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.engine import LOGS, start_worker
from bench.server import ROOT, Valkey, driver_env, run_json, wait_file
from bench.systems import SYSTEMS

JOBGATE = next(s for s in SYSTEMS if s.name == "jobgate + history")  # as deployed
MA_REQUEST = {"query": "Plan a launch of a note-taking app", "coordination_mode": "collaborative"}


async def _enqueue(url: str, n_noop: int, n_ma: int) -> None:
    from bench.drivers.jobgate import settings_for
    from jobgate.services import Services

    svc = await Services.open(settings_for(url))
    for i in range(n_noop):
        await svc.store.enqueue("bench_noop", "bench", float(i))
    for _ in range(n_ma):
        await svc.store.enqueue("multi_agent", "ma", {**MA_REQUEST, "user_id": "ma"})
    await svc.close()


def retention(v: Valkey) -> dict[str, Any]:
    from jobgate.store.keys import Keys

    k = Keys("bench")
    r = v.client()
    r.flushall()
    asyncio.run(_enqueue(v.url, 200, 3))
    w = start_worker(JOBGATE, v, 32)
    try:
        deadline = time.monotonic() + 60
        active = {k.active(k.partition_of_owner(o)) for o in ("bench", "ma")}
        while time.monotonic() < deadline and any(r.zcard(a) for a in active):
            time.sleep(0.2)
    finally:
        w.stop()
    out: dict[str, Any] = {}
    for owner, label in (("bench", "noop"), ("ma", "multi_agent")):
        ids = r.zrange(k.owner_jobs(owner), 0, -1)
        sizes, keys = [], 0
        for job_id in ids:
            ks = [k.job(job_id), k.events(job_id)]
            sizes.append(sum(int(r.memory_usage(k, samples=0) or 0) for k in ks))
            keys += sum(int(r.exists(k)) for k in ks)
        out[label] = {"jobs": len(ids), "bytes_per_job": sum(sizes) / max(len(ids), 1),
                      "keys_per_job": keys / max(len(ids), 1),
                      "shared_index_bytes_per_job": int(
                          r.memory_usage(k.owner_jobs(owner), samples=0) or 0)
                      / max(len(ids), 1)}
    return out


def profile_drain(v: Valkey, n: int, out_dir: Path) -> dict[str, Any]:
    """Drain n no-op jobs under py-spy (not timed) and name the top costs."""
    spy = ROOT / "bench" / ".venv" / "bin" / "py-spy"
    if not spy.exists() and shutil.which("py-spy") is None:
        return {"error": "py-spy not installed"}
    r = v.client()
    r.flushall()
    run_json(JOBGATE.args(JOBGATE_PY(), "submit", v.url, "--n", str(n), "--producers", "32"),
             driver_env(v.url), timeout=600)
    done = LOGS / "done-profile.json"
    done.unlink(missing_ok=True)
    w = start_worker(JOBGATE, v, 32, expect=n, done=done)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "profile-drain.txt"
    spy_proc = subprocess.Popen(
        [str(spy), "record", "--pid", str(w.pid), "--rate", "200", "--format", "raw",
         "--nonblocking", "--output", str(raw), "--duration", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        drain = wait_file(done, w, timeout=n / 40 + 60)
    finally:
        spy_proc.send_signal(2)  # SIGINT: py-spy writes what it has
        try:
            spy_proc.wait(20)
        except subprocess.TimeoutExpired:
            spy_proc.kill()
        w.stop()
    return {"drain_under_profiler": drain, "file": raw.name, **summarise(raw, out_dir)}


def JOBGATE_PY() -> str:
    import sys

    return sys.executable


def summarise(raw: Path, out_dir: Path) -> dict[str, Any]:
    """Self time by function and time inside a few layers, from collapsed stacks."""
    if not raw.exists():
        return {"error": "py-spy wrote nothing"}
    own: Counter[str] = Counter()
    layer: Counter[str] = Counter()
    total = 0
    layers = {"redis client (redis-py)": "(redis/", "asyncio": "(asyncio/",
              "jobgate": "(jobgate/", "logging": "(logging/", "start-up imports": "importlib"}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        own[frames[-1]] += c
        for name, marker in layers.items():
            if any(marker in f for f in frames):
                layer[name] += c
    top = [{"frame": f, "pct": 100 * c / total} for f, c in own.most_common(15)]
    summary = {"samples": total, "top_self": top,
               "inclusive_pct": {k: 100 * c / total for k, c in layer.items()}}
    lines = [f"{t['pct']:5.1f}%  {t['frame']}" for t in top]
    lines += ["", "inclusive:"] + [f"{k}: {v:.1f}%" for k, v in
                                   summary["inclusive_pct"].items()]
    (out_dir / "profile-drain-top.txt").write_text("\n".join(lines) + "\n")
    return summary
