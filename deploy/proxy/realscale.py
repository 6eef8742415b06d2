"""The proxy test at real scale: a 60 s proxy and a ~150 s multi-agent job.

    .venv/bin/python deploy/proxy/realscale.py [--json out.json]

Runs a private Valkey, one `jobgate worker`, two `jobgate api` processes and
a real nginx in front of each with `proxy_read_timeout 60s` (Cloudflare's
limit; it answers 524 where nginx answers 504). The simulated job runs seven
sequential agent calls of ~21.4 s. At the same time, each on its own job:

- POST /process on an API with JOBGATE_SYNC_WAIT_S=90: cut by the proxy at 60 s;
- POST /process with the default JOBGATE_SYNC_WAIT_S=50: 202 with the job id at 50 s;
- submit + wait through the proxy with the Python SDK and the TypeScript
  client over SSE (server defaults: heartbeat 15 s, connections capped at 360 s,
  so one stream outlives the proxy's 60 s read timeout),
  with the SDK's long-poll, with both clients' polling (paced by the server's
  Retry-After), and with a plain 5 s poller (the old browser helper);

then counts, from nginx's access log, the HTTP requests each waiting job cost.
Not part of the test suite (it takes ~3 minutes); the scaled-down version
is tests/proxy/. Exit status 1 when an expectation does not hold.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import jobgate  # noqa: E402
from jobgate.embedded import EmbeddedValkey, free_port  # noqa: E402
from tests.proxy.nginx import Nginx, is_nginx_timeout, nginx_binary  # noqa: E402
from tests.server import Proc, Stack, wait_http  # noqa: E402

API = "/api/multi-agent"
DRIVER = ROOT / "tests" / "proxy" / "run_client.mjs"
REQUEST = {"query": "a marketplace for camping gear", "coordination_mode": "sequential"}
STEPS = 7  # sequential, default agents: seven agent calls, one after another
REALISTIC = {  # undo the test-speed timings of tests/server.py
    "JOBGATE_LEASE_S": "10", "JOBGATE_HEARTBEAT_S": "1", "JOBGATE_WORKER_POLL_S": "1",
    "JOBGATE_RETRY_BASE_S": "1", "JOBGATE_SHUTDOWN_GRACE_S": "5",
}


def log(msg: str, t0: float = 0.0) -> None:
    print(f"[{time.monotonic() - t0:7.1f}s] {msg}" if t0 else msg, flush=True)


class Rig:
    """Valkey, a worker, and the two proxied APIs."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.args = args
        self.valkey = EmbeddedValkey(tmp / "valkey", persistence=False)
        self.valkey.start()
        step = args.job_seconds / STEPS
        self.stack = Stack(self.valkey.url, "realscale", tmp / "stack",
                           extra_env={**REALISTIC, "JOBGATE_SIM_STEP_S": f"{step:.3f}"})
        self.stack.start_worker(concurrency=16)
        self.proxies: dict[str, Nginx] = {}
        apis = {"sync90": {"JOBGATE_SYNC_WAIT_S": str(args.sync_long)},
                "default": {"JOBGATE_SYNC_WAIT_S": str(args.sync_short)}}
        for name, env in apis.items():
            port = free_port()
            proc = Proc([sys.executable, "-m", "jobgate.cli", "api", "--host", "127.0.0.1",
                         "--port", str(port)], {**self.stack.env, **env},
                        self.stack.data_dir / f"api-{name}.log")
            self.stack.data_dir.mkdir(parents=True, exist_ok=True)
            self.stack.apis.append(proc.start())
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, 60)
            self.proxies[name] = Nginx(tmp / f"nginx-{name}", port, args.proxy_timeout).start()

    @property
    def url(self) -> str:
        return self.proxies["default"].url

    def headers(self) -> dict[str, str]:
        return self.stack.headers()

    def stop(self) -> None:
        for n in self.proxies.values():
            n.stop()
        for p in self.stack.apis + self.stack.workers:
            p.signal(signal.SIGTERM)
        self.stack.stop()
        self.valkey.stop()


# -- the scenarios: each returns what happened, its job id if it learned one --


def sync_call(rig: Rig, proxy: str) -> dict[str, Any]:
    started = time.monotonic()
    r = httpx.post(f"{rig.proxies[proxy].url}{API}/process", json=REQUEST,
                   headers=rig.headers(), timeout=600)
    elapsed = time.monotonic() - started
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    return {"status": r.status_code, "elapsed_s": round(elapsed, 1), "proxy": proxy,
            "cut_by_proxy": is_nginx_timeout(r), "job_id": body.get("job_id")}


def python_sdk(rig: Rig, channel: str) -> dict[str, Any]:
    started = time.monotonic()
    with jobgate.Client(rig.url, rig.stack.token(), channel=channel) as c:  # type: ignore[arg-type]
        job = c.submit(REQUEST)
        done = c.wait(job.job_id, timeout=600)
    jobgate.MultiAgentResponse.model_validate(done.result)
    return {"status": done.status.value, "elapsed_s": round(time.monotonic() - started, 1),
            "job_id": job.job_id}


def ts_client(rig: Rig, transport: str) -> dict[str, Any]:
    args = {"apiUrl": rig.url, "token": rig.stack.token(), "transport": transport,
            "request": REQUEST, "pollInterval": rig.args.poll_interval * 1000,
            "timeout": 600_000}
    run = subprocess.run(["node", str(DRIVER), json.dumps(args)], capture_output=True,
                         text=True, timeout=900)
    if run.returncode != 0:
        return {"status": "error", "error": run.stderr[-500:]}
    out = json.loads(run.stdout.strip().splitlines()[-1])
    return {"status": "completed", "elapsed_s": round(out["elapsed_ms"] / 1000, 1),
            "job_id": out["job_id"]}


def fixed_poller(rig: Rig) -> dict[str, Any]:
    """The old browser helper: a status request every 5 s, whatever the server says."""
    started = time.monotonic()
    with httpx.Client(base_url=rig.url, headers=rig.headers(), timeout=30) as c:
        job_id = c.post(f"{API}/submit", json={"request": REQUEST}).json()["job_id"]
        while True:
            time.sleep(rig.args.poll_interval)
            status = c.get(f"{API}/jobs/{job_id}/status").json()["status"]
            if status in ("completed", "failed", "cancelled"):
                break
        result = c.get(f"{API}/jobs/{job_id}/result").json()
    return {"status": result["status"], "elapsed_s": round(time.monotonic() - started, 1),
            "job_id": job_id}


def requests_of(rig: Rig, job_id: str | None, proxy: str | None) -> dict[str, Any]:
    """What nginx saw for one job: requests by endpoint, the longest, every status.

    A /process call is counted from its proxy's log (its path has no job id);
    a waiting client's requests by their job id, plus the submit."""
    if proxy is not None:
        entries = rig.proxies[proxy].requests(f"{API}/process", at_least=1)
        extra = 0
    else:
        entries = [e for n in rig.proxies.values() for e in n.requests(job_id or "-")]
        extra = 1  # the submit
    kinds = Counter(e["uri"].rsplit("/", 1)[-1] for e in entries)
    return {"requests": extra + len(entries),
            "by_kind": dict(kinds),
            "longest_s": max((e["request_time"] for e in entries), default=0.0),
            # An event stream may outlive the limit (its heartbeats keep it open);
            # anything else must answer within it.
            "longest_other_s": max((e["request_time"] for e in entries
                                    if not e["uri"].endswith("/events")), default=0.0),
            "statuses": sorted({e["status"] for e in entries})}


SCENARIOS: dict[str, Callable[[Rig], dict[str, Any]]] = {
    "process, SYNC_WAIT_S=90": lambda rig: sync_call(rig, "sync90"),
    "process, SYNC_WAIT_S=50": lambda rig: sync_call(rig, "default"),
    "Python SDK, sse": lambda rig: python_sdk(rig, "sse"),
    "TS client, sse": lambda rig: ts_client(rig, "sse"),
    "Python SDK, long_poll": lambda rig: python_sdk(rig, "long_poll"),
    "Python SDK, poll (Retry-After)": lambda rig: python_sdk(rig, "poll"),
    "TS client, poll (Retry-After)": lambda rig: ts_client(rig, "poll"),
    "plain poll every 5 s": fixed_poller,
}


def checks(out: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[tuple[str, bool]]:
    cut, short = out["process, SYNC_WAIT_S=90"], out["process, SYNC_WAIT_S=50"]
    limit = args.proxy_timeout
    waits = {k: v for k, v in out.items() if not k.startswith("process")}
    return [
        (f"/process with SYNC_WAIT_S={args.sync_long} cut by the proxy at ~{limit:g} s",
         cut["cut_by_proxy"] and limit - 1 <= cut["elapsed_s"] < limit + 5),
        (f"/process with SYNC_WAIT_S={args.sync_short} answers 202 at ~{args.sync_short:g} s",
         short["status"] == 202 and short["job_id"] is not None
         and args.sync_short - 1 <= short["elapsed_s"] < limit),
        ("every wait returned the completed result",
         all(v["status"] == "completed" for v in waits.values())),
        ("every job outlived the proxy limit twice over",
         all(v.get("elapsed_s", 0) > 2 * limit for v in waits.values())),
        ("no request through the proxy failed; none but event streams reached its limit",
         all(set(v["statuses"]) <= {200, 202} and v["longest_other_s"] < limit
             for v in waits.values())),
    ]


def table(out: dict[str, dict[str, Any]]) -> str:
    rows = ["| scenario | outcome | wall s | requests per job | by endpoint | longest request "
            "| statuses at the proxy |", "| --- | --- | ---: | ---: | --- | ---: | --- |"]
    for name, v in out.items():
        outcome = "cut by the proxy (504)" if v.get("cut_by_proxy") else str(v["status"])
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(v.get("by_kind", {}).items()))
        rows.append(f"| {name} | {outcome} | {v.get('elapsed_s', '')} | "
                    f"{v.get('requests', '')} | {kinds} | {v.get('longest_s', '')} s | "
                    f"{', '.join(map(str, v.get('statuses', [])))} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-timeout", type=float, default=60.0)
    parser.add_argument("--job-seconds", type=float, default=150.0)
    parser.add_argument("--sync-long", type=float, default=90.0)
    parser.add_argument("--sync-short", type=float, default=50.0)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.poll_interval <= 0:
        parser.error("--poll-interval must be positive")
    if nginx_binary() is None:
        print("nginx is not installed", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobgate-realscale-") as tmp:
        rig = Rig(Path(tmp), args)
        try:
            log(f"proxy_read_timeout {args.proxy_timeout:g} s, job {STEPS} x "
                f"{args.job_seconds / STEPS:.2f} s; running {len(SCENARIOS)} scenarios", t0)
            with ThreadPoolExecutor(len(SCENARIOS)) as pool:
                futures = {name: pool.submit(fn, rig) for name, fn in SCENARIOS.items()}
                out: dict[str, dict[str, Any]] = {}
                for name, f in futures.items():
                    out[name] = f.result()
                    log(f"{name}: {out[name]}", t0)
            time.sleep(1)  # nginx logs a request just after answering it
            for v in out.values():
                v.update(requests_of(rig, v.get("job_id"), v.get("proxy")))
        finally:
            rig.stop()
    results = checks(out, args)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.monotonic() - t0:.0f} s in all\n")
    print(table(out))
    print()
    for what, ok in results:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "scenarios": out, "checks": dict(results)}, indent=2))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
