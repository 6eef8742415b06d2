"""Workloads 4 (HTTP waiting) and 7 (idle SSE memory): jobgate's API only.

Each user has its own token and keep-alive connection, submits one
multi-agent job (sequential, one agent: one step of JOBGATE_SIM_STEP_S) and
waits by polling every P s, by long-poll, by SSE, or on a WebSocket. Notice latency is the
time from the job's `completed_at` to the moment the client learns it ended.
"""

from __future__ import annotations

import asyncio
import json
import math
import resource
import sys
import time
from datetime import datetime
from typing import Any

from bench.common import commands_delta, commandstats, cpu_seconds_of_tree, percentile, rss_bytes
from bench.engine import LOGS
from bench.http_client import Conn
from bench.server import Background, Valkey, driver_env
from bench.ws_client import WsConn, wait_job
from jobgate.api.auth import mint_token
from jobgate.embedded import free_port

SECRET = "bench-secret-0123456789-abcdefghijkl"
PREFIX = "/api/multi-agent"
BODY = {"request": {"query": "benchmark", "coordination_mode": "sequential",
                    "supporting_agents": []}}
TERMINAL = {"completed", "failed", "cancelled"}
# Idle is measured this long after the last stream opened: the opening burst
# (after thousands of submits) leaves the API busy for a few seconds.
SETTLE_S = 5.0
SSE_MAX_S = 360.0  # the API's JOBGATE_SSE_MAX_CONNECTION_S default: the reconnect cadence


def raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Stack:
    def __init__(self, v: Valkey, job_s: float, worker: bool, **env: str) -> None:
        self.v, self.port = v, free_port()
        e = driver_env(v.url, JOBGATE_REDIS_URL=v.url, JOBGATE_NAMESPACE="http",
                       JOBGATE_AUTH_SECRET=SECRET, JOBGATE_SIM_STEP_S=str(job_s),
                       JOBGATE_LOG_LEVEL="WARNING",
                       **{"JOBGATE_MAX_ACTIVE_JOBS_PER_USER": "1000", **env})
        py = sys.executable
        self.api = Background([py, "-m", "jobgate.cli", "api", "--port", str(self.port)],
                              e, LOGS / "api.log")
        self.worker = Background([py, "-m", "jobgate.cli", "worker", "--concurrency", "1200"],
                                 e, LOGS / "http-worker.log", core=None) if worker else None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                import httpx

                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    break
            except Exception:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"API did not start: {self.api.tail()}")

    def conn(self, user: int) -> Conn:
        return Conn("127.0.0.1", self.port, mint_token(SECRET, f"u{user}"))

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()
        self.api.stop()


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def _submit(c: Conn) -> dict[str, Any]:
    for _ in range(20):
        status, _, body = await c.request("POST", f"{PREFIX}/submit", BODY)
        if status == 202:
            out: dict[str, Any] = body
            return out
        ERRORS.append(f"submit {status} {str(body)[:160]}")
        await asyncio.sleep(0.5)
    raise RuntimeError(f"submit: {status} {body}")


ERRORS: list[str] = []


def _ok(code: int, body: Any) -> bool:
    """A non-200 answer (e.g. 503 when the API's Redis pool is exhausted) is counted,
    and the client carries on as a real one would."""
    if code == 200 and isinstance(body, dict) and "status" in body:
        return True
    ERRORS.append(f"{code} {str(body)[:160]}")
    return False


async def _wait_poll(c: Conn, job: dict[str, Any], every: float) -> float:
    while True:
        await asyncio.sleep(every)
        code, _, st = await c.request("GET", job["status_url"])
        if _ok(code, st) and st["status"] in TERMINAL:
            return time.time()


async def _wait_long(c: Conn, job: dict[str, Any]) -> float:
    etag: str | None = None
    while True:
        code, h, st = await c.request("GET", job["status_url"] + "?wait=50",
                                      headers={"If-None-Match": etag} if etag else None)
        if not _ok(code, st):
            await asyncio.sleep(0.5)
            continue
        etag = h.get("etag")
        if st["status"] in TERMINAL:
            return time.time()


async def _wait_sse(c: Conn, job: dict[str, Any], counts: dict[str, int],
                    result: dict[str, Any]) -> float:
    seen: dict[str, Any] = {}

    def on_event(ev: dict[str, str]) -> bool:
        if ev.get("event") == "result":  # sent just before the terminal event
            result.update(json.loads(ev["data"]))
            return False
        seen["id"] = ev.get("id", seen.get("id"))
        if ev.get("event") == "state" and any(f'"{s}"' in ev.get("data", "") for s in TERMINAL):
            seen["t"] = time.time()
            return True
        return False

    while "t" not in seen:
        hdr = {"Last-Event-ID": seen["id"]} if seen.get("id") else None
        try:
            await c.sse(job["events_url"], on_event, hdr)
        except (RuntimeError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            ERRORS.append(f"sse: {exc}"[:160])
            await c.close()
            await asyncio.sleep(0.5)
        counts["sse_connections"] += 1
    return float(seen["t"])


async def _wait_ws(c: Conn, job: dict[str, Any], result: dict[str, Any]) -> float:
    """One socket per user (the upgrade counts as a request); the result comes on it."""
    ws = WsConn(c.host, c.port, c.token)
    c.requests += 1
    try:
        await ws.open(f"{PREFIX}/ws")
        return await wait_job(ws, job["job_id"], result)
    finally:
        await ws.close()


async def _user(stack: Stack, i: int, mode: str, delay: float, out: list[tuple[float, int]],
                counts: dict[str, int]) -> None:
    await asyncio.sleep(delay)
    c = stack.conn(i)
    job = await _submit(c)
    res: dict[str, Any] = {}
    if mode.startswith("poll"):
        t = await _wait_poll(c, job, float(mode[4:]))
    elif mode == "longpoll":
        t = await _wait_long(c, job)
    elif mode == "websocket":
        t = await _wait_ws(c, job, res)
    else:
        t = await _wait_sse(c, job, counts, res)
    while not res:  # the stream sent it; the others ask
        code, _, body = await c.request("GET", job["result_url"])
        if code == 200:
            res = body
        else:
            ERRORS.append(f"{code} {str(body)[:160]}")
            await asyncio.sleep(0.5)
    out.append((t - _ts(res["completed_at"]), c.requests))
    await c.close()


async def _run_users(stack: Stack, mode: str, users: int, spread_s: float) -> dict[str, Any]:
    r = stack.v.client()
    out: list[tuple[float, int]] = []
    counts = {"sse_connections": 0}
    ERRORS.clear()
    c0, cpu0 = commandstats(r), cpu_seconds_of_tree(stack.api.pid)
    rss_peak, t0 = 0, time.monotonic()
    task = asyncio.gather(*(_user(stack, i, mode, spread_s * i / users, out, counts)
                            for i in range(users)))
    while not task.done():
        rss_peak = max(rss_peak, rss_bytes(stack.api.pid))
        await asyncio.sleep(0.25)
    await task
    dt = time.monotonic() - t0
    cpu = cpu_seconds_of_tree(stack.api.pid) - cpu0
    delta = commands_delta(c0, commandstats(r))
    lat = [x[0] * 1000 for x in out]
    return {
        "users": users, "mode": mode, "seconds": dt,
        "requests_per_job": sum(x[1] for x in out) / len(out),
        "notice_p50_ms": percentile(lat, 50), "notice_p99_ms": percentile(lat, 99),
        "api_cpu_s": cpu, "api_rss_peak_mb": rss_peak / 2**20,
        "redis_commands_per_job": sum(delta.values()) / len(out),
        "errors": len(ERRORS), "first_errors": sorted(set(ERRORS))[:3],
    }


def waiting(v: Valkey, users_list: list[int], modes: list[str], job_s: float,
            spread_s: float) -> list[dict[str, Any]]:
    results = []
    for users in users_list:
        for mode in modes:
            v.client().flushall()
            stack = Stack(v, job_s, worker=True)
            try:
                res = asyncio.run(_run_users(stack, mode, users, spread_s))
                res["job_s"] = job_s
                results.append(res)
                print(f"  http {users} users {mode}: {res}", flush=True)
            except Exception as exc:
                results.append({"users": users, "mode": mode, "job_s": job_s,
                                "error": f"{type(exc).__name__}: {exc}"[-300:]})
                print(f"  http {users} users {mode}: FAILED {exc}", flush=True)
            finally:
                stack.stop()
    return results


def analytic_requests(job_s: float, poll_s: float) -> dict[str, float]:
    """Requests for one job of job_s seconds: submit + waiting (+ the result fetch;
    a stream carries the result)."""
    return {"sse": 1 + math.floor(job_s / SSE_MAX_S) + 1,  # a stream per cap begun
            "poll": 1 + math.floor(job_s / poll_s) + 1, "job_s": job_s, "poll_s": poll_s}


async def _quiet_api(stack: Stack, measure_s: float) -> dict[str, Any]:
    """The API's CPU, its Redis connections and Valkey's commands/s over `measure_s`."""
    r = stack.v.client()
    cpu0, t0, c0 = cpu_seconds_of_tree(stack.api.pid), time.monotonic(), commandstats(r)
    await asyncio.sleep(measure_s)
    cpu_pct = (cpu_seconds_of_tree(stack.api.pid) - cpu0) / (time.monotonic() - t0) * 100
    delta = commands_delta(c0, commandstats(r))
    return {"api_cpu_pct": cpu_pct, "redis_connections_of_api": _api_connections(r),
            "redis_commands_per_s": sum(delta.values()) / measure_s}


async def _idle_sse(stack: Stack, jobs: list[tuple[Conn, dict[str, Any]]], counts: list[int],
                    measure_s: float, out: dict[str, Any]) -> None:
    """Open streams on the jobs, `counts` at a time, measuring after each step."""
    rss0 = rss_bytes(stack.api.pid)
    opened: list[asyncio.Future[None]] = []
    connected = [0]

    def hold(ev: dict[str, str]) -> bool:
        if ev.get("event") == "state" and '"pending"' in ev.get("data", ""):
            connected[0] += 1
        return False

    try:
        for n in sorted(counts):
            for c, job in jobs[len(opened):n]:
                opened.append(asyncio.ensure_future(c.sse(job["events_url"], hold)))
            deadline = time.monotonic() + 120
            while connected[0] + sum(1 for f in opened if f.done()) < n:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(SETTLE_S)
            quiet = await _quiet_api(stack, measure_s)
            rss = rss_bytes(stack.api.pid)
            failed = [f for f in opened if f.done()]
            why = sorted({f"{type(e).__name__}: {e}"[:120] for f in failed
                          if (e := f.exception()) is not None})[:3]
            out[f"sse_{n}"] = {
                "connections": connected[0], "failed_to_open": len(failed), "why": why,
                "api_rss_mb": rss / 2**20,
                "bytes_per_connection": (rss - rss0) / max(connected[0], 1), **quiet,
            }
            print(f"  idle SSE {n}: {out[f'sse_{n}']}", flush=True)
    finally:
        for c, _ in jobs[:len(opened)]:
            await c.close()
        for f in opened:
            f.cancel()


async def _idle_long_poll(stack: Stack, jobs: list[tuple[Conn, dict[str, Any]]],
                          measure_s: float, out: dict[str, Any]) -> None:
    """The same jobs, each waited on by a long-poll carrying its ETag."""
    lp = [stack.conn(i) for i in range(len(jobs))]
    etags = []
    for c, (_, job) in zip(lp, jobs, strict=True):
        _, h, _ = await c.request("GET", job["status_url"])
        etags.append(h["etag"])
    tasks = [asyncio.ensure_future(c.request("GET", job["status_url"] + "?wait=50",
                                             headers={"If-None-Match": e}))
             for c, (_, job), e in zip(lp, jobs, etags, strict=True)]
    try:
        await asyncio.sleep(2.0)
        out[f"longpoll_{len(jobs)}"] = {"connections": len(jobs),
                                        **await _quiet_api(stack, measure_s)}
        print(f"  idle long-poll {len(jobs)}: {out[f'longpoll_{len(jobs)}']}", flush=True)
    finally:
        for t in tasks:
            t.cancel()
        for c in lp:
            await c.close()


async def _idle(stack: Stack, counts: list[int], measure_s: float) -> dict[str, Any]:
    """Open SSE streams (then long-polls) on jobs that do not change; measure the API."""
    sem = asyncio.Semaphore(200)

    async def submit(i: int) -> tuple[Conn, dict[str, Any]]:
        async with sem:
            c = stack.conn(i)
            return c, await _submit(c)

    jobs = await asyncio.gather(*(submit(i) for i in range(max(counts))))
    out: dict[str, Any] = {}
    await _idle_sse(stack, jobs, counts, measure_s, out)
    await asyncio.sleep(2.0)
    await _idle_long_poll(stack, jobs[:min(counts)], measure_s, out)
    return out


def _api_connections(r: Any) -> int:
    """Clients other than this orchestrator's own (the API is the only other process)."""
    return len([c for c in r.client_list() if c.get("cmd") not in ("client|list",)])


def idle_streams(v: Valkey, counts: list[int], measure_s: float) -> dict[str, Any]:
    v.client().flushall()
    stack = Stack(v, 5.0, worker=False, JOBGATE_SSE_MAX_CONNECTION_S="600")
    try:
        return asyncio.run(_idle(stack, counts, measure_s))
    finally:
        stack.stop()


__all__ = ["analytic_requests", "idle_streams", "raise_nofile", "waiting"]
