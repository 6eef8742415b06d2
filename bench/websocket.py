"""`python -m bench.websocket [--quick] [--out DIR]`: the figures of issue 17.

1. Idle: N sockets (1,000), each signed in and following its user's pending
   job (no worker: nothing moves), then N SSE streams and N long-polls on the
   same jobs: the API's CPU, memory per connection, its Redis connections,
   Valkey's commands/s.
2. Waiting: 400 users each submit one job and wait for its end on a
   WebSocket, an SSE stream or long-polls (bench/http_wait.py): notice p50/p99
   (the job's completed_at to the moment the client knows), requests per job,
   API CPU, Valkey commands per job.

Writes websocket.json and websocket.md. Valkey runs on core 0, the API on
core 1 (as bench/__main__.py); figures from a shared machine are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import http_wait, report
from bench.common import rss_bytes
from bench.http_client import Conn
from bench.http_wait import PREFIX, SETTLE_S, Stack, _idle_long_poll, _quiet_api, _submit
from bench.server import ROOT, Valkey
from bench.ws_client import WsConn


async def _open(stack: Stack, c: Conn, job: dict[str, Any], sem: asyncio.Semaphore) -> WsConn:
    async with sem:
        ws = WsConn("127.0.0.1", stack.port, c.token)
        await ws.open(f"{PREFIX}/ws")
        await ws.send({"type": "subscribe", "job_id": job["job_id"]})
        ack, first = await ws.recv(), await ws.recv()
        assert ack and ack["type"] == "ack" and first and first["id"] == "0-1", (ack, first)
        return ws


async def _hold(ws: WsConn) -> None:
    """Read on (heartbeats, pings) until the socket ends."""
    while await ws.recv() is not None:
        pass


async def _idle_sockets(stack: Stack, jobs: list[tuple[Conn, dict[str, Any]]],
                        measure_s: float) -> dict[str, Any]:
    await asyncio.sleep(SETTLE_S)
    baseline = await _quiet_api(stack, measure_s)
    rss0 = rss_bytes(stack.api.pid)
    sem = asyncio.Semaphore(100)
    opened = await asyncio.gather(*(_open(stack, c, job, sem) for c, job in jobs),
                                  return_exceptions=True)
    sockets = [s for s in opened if isinstance(s, WsConn)]
    why = sorted({f"{type(e).__name__}: {e}"[:120] for e in opened
                  if isinstance(e, BaseException)})[:3]
    readers = [asyncio.ensure_future(_hold(ws)) for ws in sockets]
    try:
        await asyncio.sleep(SETTLE_S)
        quiet = await _quiet_api(stack, measure_s)
        rss = rss_bytes(stack.api.pid)
        return {
            "sockets": len(sockets), "failed_to_open": len(jobs) - len(sockets), "why": why,
            "api_rss_mb": rss / 2**20, "bytes_per_socket": (rss - rss0) / max(len(sockets), 1),
            "heartbeats_heard": sum(ws.heartbeats for ws in sockets),
            "without_sockets": baseline, **quiet,
        }
    finally:
        for t in readers:
            t.cancel()
        for ws in sockets:
            await ws.close()


async def _idle_streams(stack: Stack, jobs: list[tuple[Conn, dict[str, Any]]],
                        measure_s: float) -> dict[str, Any]:
    """The same jobs, each followed by its own SSE stream (/jobs/{id}/events),
    opened 100 at a time like the sockets (a burst of 1,000 at once makes the
    API's Redis reads time out on a busy machine, and such streams end)."""
    rss0 = rss_bytes(stack.api.pid)
    sem = asyncio.Semaphore(100)
    streams: list[asyncio.Future[None]] = []

    async def open_one(c: Conn, job: dict[str, Any]) -> None:
        opened = asyncio.Event()

        def hold(ev: dict[str, str]) -> bool:
            opened.set()
            return False

        async with sem:
            streams.append(asyncio.ensure_future(c.sse(job["events_url"], hold)))
            waiter = asyncio.ensure_future(opened.wait())
            await asyncio.wait({streams[-1], waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()

    await asyncio.gather(*(open_one(c, job) for c, job in jobs))
    try:
        await asyncio.sleep(SETTLE_S)
        quiet = await _quiet_api(stack, measure_s)
        rss = rss_bytes(stack.api.pid)
        open_now = sum(1 for f in streams if not f.done())
        return {"connections": open_now, "failed_to_open": len(jobs) - open_now,
                "api_rss_mb": rss / 2**20,
                "bytes_per_connection": (rss - rss0) / max(open_now, 1), **quiet}
    finally:
        for f in streams:
            f.cancel()
        for c, _ in jobs:
            await c.close()


async def _idle(stack: Stack, kind: str, n: int, measure_s: float) -> dict[str, Any]:
    sem = asyncio.Semaphore(200)

    async def submit(i: int) -> tuple[Conn, dict[str, Any]]:
        async with sem:
            c = stack.conn(i)
            return c, await _submit(c)

    jobs = await asyncio.gather(*(submit(i) for i in range(n)))
    for c, _ in jobs:
        await c.close()
    out: dict[str, Any] = {}
    if kind == "websocket":
        out[f"websocket_{n}"] = await _idle_sockets(stack, jobs, measure_s)
    elif kind == "sse":
        await asyncio.sleep(SETTLE_S)
        out[f"sse_{n}"] = await _idle_streams(stack, jobs, measure_s)
    else:
        await asyncio.sleep(SETTLE_S)
        await _idle_long_poll(stack, jobs, measure_s, out)
    return out


def idle(v: Valkey, n: int, measure_s: float) -> dict[str, Any]:
    """Each kind on a fresh API process: memory one kind freed is not reused
    by the next, which would make the later kinds look cheaper."""
    out: dict[str, Any] = {}
    for kind in ("websocket", "sse", "longpoll"):
        v.client().flushall()
        stack = Stack(v, 5.0, worker=False, JOBGATE_SSE_MAX_CONNECTION_S="600")
        try:
            got = asyncio.run(_idle(stack, kind, n, measure_s))
        finally:
            stack.stop()
        print(f"  idle {kind} {n}: {got}", flush=True)
        out.update(got)
    return out


def _md(res: dict[str, Any]) -> str:
    lines = [
        "# WebSocket beside SSE and long-poll (issue 17)",
        "",
        f"Run {res['started']} with `python -m bench.websocket"
        f"{' --quick' if res['quick'] else ''}` on {res['machine'].get('cpu', '?')} "
        f"({res['machine'].get('cores', '?')} cores, shared with other work: indicative "
        "figures). Valkey on core 0, the API on core 1.",
        "",
        "## Idle connections, each following a job that does not move",
        "",
        "| connections | kind | API CPU % | memory per connection | API Redis connections "
        "| Valkey commands/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, row in res["idle"].items():
        kind, n = key.rsplit("_", 1)
        per = row.get("bytes_per_socket", row.get("bytes_per_connection"))
        per_text = f"{per / 1024:.1f} KiB" if per is not None else "—"
        lines.append(f"| {n} | {kind} | {row['api_cpu_pct']:.1f} | {per_text} "
                     f"| {row['redis_connections_of_api']} | {row['redis_commands_per_s']:.1f} |")
    ws = next((r for k, r in res["idle"].items() if k.startswith("websocket")), {})
    if ws:
        base = ws["without_sockets"]
        lines += ["", f"With no socket open the API used {base['api_cpu_pct']:.1f} % CPU and "
                  f"{base['redis_connections_of_api']} Redis connections; "
                  f"{ws['sockets']} sockets opened ({ws['failed_to_open']} failed), "
                  f"{ws['heartbeats_heard']} heartbeats heard while measuring."]
    lines += [
        "", f"## {res['users']} users, one job each ({res['job_s']} s), waiting for its end",
        "", "| round | mode | notice p50 ms | notice p99 ms | requests per job | API CPU s "
        "| Valkey commands per job | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in res["waiting"]:
        if "error" in row:
            lines.append(f"| {row['round']} | {row['mode']} | failed: {row['error']} | | | | | |")
            continue
        lines.append(
            f"| {row['round']} | {row['mode']} | {row['notice_p50_ms']:.0f} "
            f"| {row['notice_p99_ms']:.0f} "
            f"| {row['requests_per_job']:.2f} | {row['api_cpu_s']:.1f} "
            f"| {row['redis_commands_per_job']:.1f} | {row['errors']} |")
    lines += ["", "Requests per job: the submit, then the socket's upgrade (WebSocket), "
              "the stream (SSE), or each long-poll; on a socket or a stream the result "
              "comes with the end, so no request fetches it.", "",
              "Reading the figures: no socket or stream holds a Redis connection (the API's "
              "count is its pools, sized by the burst that opened the connections, not by "
              "how many are open); an idle socket costs Valkey nothing (one subscription per "
              "process wakes them all); memory per connection is the API's RSS growth over "
              "the open connections, each kind measured on a fresh process. Notice latency "
              "moves by tens of milliseconds from round to round on this shared machine: "
              "the rounds are listed, not averaged.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.websocket")
    p.add_argument("--quick", action="store_true", help="100 sockets, 50 users: a smoke run")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--rounds", type=int, default=2, help="rounds of the waiting workload")
    a = p.parse_args()
    # measured over 20 s: every socket hears a heartbeat (15 s) inside the window
    n, users, measure_s = (100, 50, 2.0) if a.quick else (1000, 400, 20.0)
    http_wait.raise_nofile()
    v = Valkey.start()
    started = time.monotonic()
    res: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "quick": a.quick,
        "machine": report.machine(), "users": users, "job_s": 5.0,
    }
    try:
        res["idle"] = idle(v, n, measure_s)
        res["waiting"] = []
        for r in range(a.rounds):
            for row in http_wait.waiting(v, [users], ["websocket", "sse", "longpoll"], 5.0, 2.0):
                res["waiting"].append({**row, "round": r + 1})
    finally:
        v.stop()
        res["seconds"] = time.monotonic() - started
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "websocket.json").write_text(json.dumps(res, indent=1, default=str))
    (a.out / "websocket.md").write_text(_md(res))
    print((a.out / "websocket.md").read_text())


if __name__ == "__main__":
    main()
