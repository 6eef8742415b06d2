"""`python -m bench [--quick] [--only jobgate,saq] [--out DIR] [--rounds N] [--long-jobs]`

Installs the peers into bench/.venv (when a peer is selected), starts one
Valkey pinned to core 0 (persistence off), runs every workload with the
system under test on core 1, and writes latest.md / latest.json to
bench/results (or --out).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import engine, http_wait, jobgate_extra, report
from bench.server import ROOT, Valkey, pinned
from bench.systems import System, baseline, by_name

PEERS = ["arq", "saq", "streaq", "taskiq", "taskiq-redis", "celery[redis]", "rq",
         "py-spy", "pyinstrument"]
SLOW = {"rq", "arq"}  # default arq polls every 0.5 s: a quarter of the jobs, same rounds


def ensure_venv() -> None:
    venv = ROOT / "bench" / ".venv"
    py = venv / "bin" / "python"
    probe = "import arq, saq, streaq, taskiq, taskiq_redis, celery, rq, jobgate"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return
    print("installing peers into bench/.venv ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q"]
    # In steps: one resolve of everything backtracks for a long time over redis-py pins.
    subprocess.run([*pip, "-e", str(ROOT), "arq", "saq"], check=True)
    subprocess.run([*pip, *PEERS[2:]], check=True)


def checkout(rev: str) -> System:
    """A worktree of `rev` in bench/.baseline, so its engine and driver run unchanged."""
    full = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                          capture_output=True, text=True).stdout.strip()
    root = ROOT / "bench" / ".baseline" / full
    if not root.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(root), full],
                       check=True, capture_output=True)
    return baseline(full, str(root))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="2,000 jobs, 100 users: a smoke run")
    p.add_argument("--only", default="", help="comma-separated systems (e.g. jobgate,saq)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--long-jobs", action="store_true", help="also wait on 60 s jobs over HTTP")
    p.add_argument("--five-minute-jobs", action="store_true",
                   help="also wait on real 5-minute jobs over HTTP (20 users; ~10 min)")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--baseline", default="", metavar="REV",
                   help="also measure jobgate as it was at this commit (a git worktree)")
    return p.parse_args()


def config(a: argparse.Namespace) -> dict[str, Any]:
    if a.quick:
        return {"n": 2000, "n_seq": 500, "rounds": a.rounds or 1, "concurrency": 32,
                "lat_max": 300, "idle_s": 2.0, "users": [50], "job_s": 1.0,
                "modes": ["longpoll", "sse", "websocket"], "streams": [100], "measure_s": 2.0,
                "yard_n": 20000, "profile": False}
    return {"n": 20000, "n_seq": 5000, "rounds": a.rounds or 3, "concurrency": 32,
            "lat_max": 2000, "idle_s": 5.0, "users": [400, 1000], "job_s": 5.0,
            "modes": ["poll2", "poll5", "poll10", "longpoll", "sse", "websocket"],
            "streams": [1000, 5000], "measure_s": 5.0, "yard_n": 100000,
            "profile": not a.no_profile}


def n_for(s: System, cfg: dict[str, Any]) -> int:
    if s.driver in SLOW and s.variant == "default":
        return int(cfg["n"] // 4)
    return int(cfg["n"])


def run_rounds(systems: list[System], v: Valkey, cfg: dict[str, Any],
               res: dict[str, Any]) -> None:
    for k in range(cfg["rounds"]):
        order = systems[k % len(systems):] + systems[: k % len(systems)]
        for s in order:
            n = n_for(s, cfg)
            t0 = time.monotonic()
            try:
                out = engine.round_of(s, v, min(cfg["n_seq"], n), n, cfg["concurrency"])
                res["systems"][s.name]["rounds"].append(out)
                print(f"round {k + 1} {s.name}: submit32 {out['submit_conc']['jobs_per_s']:.0f}/s"
                      f" drain {out['drain']['jobs_per_s']:.0f}/s "
                      f"({time.monotonic() - t0:.0f}s)", flush=True)
            except Exception as exc:
                res["systems"][s.name].setdefault("errors", []).append(str(exc)[-600:])
                print(f"round {k + 1} {s.name}: FAILED {str(exc)[-300:]}", flush=True)


def run_latency(systems: list[System], v: Valkey, cfg: dict[str, Any],
                res: dict[str, Any]) -> None:
    for s in systems:
        sr = res["systems"][s.name]
        cap = sr["median"].get("drain", {}).get("jobs_per_s")
        sr["latency"] = {}
        if not cap or cap != cap:
            continue
        for load in (0.5, 0.8):
            rate = cap * load
            n = max(50, min(cfg["lat_max"], int(rate * (3 if cfg["rounds"] == 1 else 6))))
            try:
                sr["latency"][f"{int(load * 100)}%"] = engine.latency(
                    s, v, rate, n, cfg["concurrency"])
            except Exception as exc:
                sr["latency"][f"{int(load * 100)}%"] = {"error": str(exc)[-300:]}
            print(f"latency {s.name} {load:.0%}: {sr['latency'][f'{int(load * 100)}%']}",
                  flush=True)
        try:
            sr["idle"] = engine.idle(s, v, cfg["idle_s"], cfg["concurrency"])
        except Exception as exc:
            sr["idle"] = {"error": str(exc)[-300:]}


def same_rate_latency(v: Valkey, res: dict[str, Any], cfg: dict[str, Any]) -> None:
    """jobgate again at the rates of the peer with the best drain: same load, same scale."""
    peers = {n: s for n, s in res["systems"].items()
             if not n.startswith("jobgate") and s.get("latency")}
    if "jobgate" not in res["systems"] or not peers:
        return
    best = max(peers, key=lambda n: peers[n]["median"].get("drain", {}).get("jobs_per_s", 0))
    jg = next(s for s in by_name(["jobgate"]))
    out = {}
    for load, lat in peers[best]["latency"].items():
        if "rate" in lat:
            out[load] = engine.latency(jg, v, lat["rate"], int(lat["n"]) or 500,
                                       cfg["concurrency"])
    res["extra"]["jobgate_latency_at_rates_of"] = {"peer": best, **out}


def main() -> None:
    a = parse()
    cfg = config(a)
    systems = by_name([x for x in a.only.split(",") if x])
    if a.baseline:
        systems.append(checkout(a.baseline))
    if any(s.peer for s in systems):
        ensure_venv()
    http_wait.raise_nofile()
    v = Valkey.start()
    r = v.client()
    started = time.monotonic()
    res: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**report.machine(), "valkey": report.valkey_version(r),
                    "pinning": "valkey on core 0, system under test on core 1 (taskset)"},
        "config": {k: v_ for k, v_ in cfg.items()},
        "systems": {s.name: {"guarantee": s.guarantee, "note": s.concurrency_note
                             + (f"; drain of {n_for(s, cfg)} jobs" if n_for(s, cfg) != cfg["n"]
                                else ""), "rounds": []} for s in systems},
        "extra": {},
    }
    try:
        yard = report.redis_benchmark(v.embedded.port, cfg["yard_n"]) if not a.quick else {}
        res["extra"]["redis_benchmark_P1_c32"] = yard
        run_rounds(systems, v, cfg, res)
        for s in systems:
            sr = res["systems"][s.name]
            sr["median"] = report.medians(sr["rounds"]) if sr["rounds"] else {}
            if not sr["rounds"]:
                sr["error"] = "; ".join(sr.get("errors", ["not run"]))
        run_latency(systems, v, cfg, res)
        same_rate_latency(v, res, cfg)
        if any(s.name == "jobgate" for s in systems):
            res["extra"]["jobgate_retention"] = jobgate_extra.retention(v)
            if cfg["profile"]:
                res["extra"]["profile"] = jobgate_extra.profile_drain(v, cfg["n"], a.out)
            if not a.skip_http:
                res["http_waiting"] = http_wait.waiting(v, cfg["users"], cfg["modes"],
                                                        cfg["job_s"], 2.0)
                if a.long_jobs:
                    res["http_waiting"] += http_wait.waiting(v, [400], ["poll5", "sse"],
                                                             60.0, 5.0)
                if a.five_minute_jobs:
                    res["http_waiting"] += http_wait.waiting(v, [20], ["poll5", "sse"],
                                                             300.0, 5.0)
                res["extra"]["idle_waiting"] = http_wait.idle_streams(
                    v, cfg["streams"], cfg["measure_s"])
                res["extra"]["requests_5min_job"] = http_wait.analytic_requests(300, 5)
    finally:
        v.stop()
        res["extra"]["total_seconds"] = time.monotonic() - started
        path = report.write(res, a.out)  # whatever was measured, even after a failure
    print(path.read_text())


if __name__ == "__main__":
    _ = pinned
    main()
