"""The whole point of jobgate, through a real proxy.

A real nginx cuts any request whose upstream stays silent for 3 s (standing
in for Cloudflare's 60 s, HTTP 524); the simulated job runs ~10.5 s. Shown:

1. the old synchronous /process is cut by the proxy (504 from nginx) when
   the server waits past the limit, and answers 202 with the job id when
   JOBGATE_SYNC_WAIT_S is below it;
2. submit + wait through the same proxy returns the result, with the Python
   SDK and the TypeScript client, over SSE and over polling;
3. an event stream outlives the proxy limit: heartbeats keep a quiet stream
   open, and streams the server closes before the limit, resumed with
   Last-Event-ID, deliver every event of the job's log exactly once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import jobgate
from tests.proxy.conftest import PROXY_TIMEOUT_S, SEQUENTIAL, Proxied
from tests.proxy.nginx import is_nginx_timeout

pytestmark = pytest.mark.proxy

API = "/api/multi-agent"
DRIVER = Path(__file__).with_name("run_client.mjs")
JOB_S = 7 * 1.5
"""How long the sequential job runs: seven agent calls of 1.5 s."""


# -- reading a stream raw, with no client code --------------------------------


@dataclass
class Event:
    id: str
    type: str
    data: dict[str, Any]


@dataclass
class Connection:
    """One /events request: what came, when, and how it ended."""

    status: int
    events: list[Event] = field(default_factory=list)
    comments: int = 0
    arrivals: list[float] = field(default_factory=list)  # seconds from the start, per line
    duration: float = 0.0
    error: str | None = None  # None: the response ended cleanly

    @property
    def terminal(self) -> bool:
        return any(
            e.type == "state" and e.data.get("status") in ("completed", "failed", "cancelled")
            for e in self.events
        )


def read_stream(url: str, job_id: str, headers: dict[str, str], last: str | None = None,
                ) -> Connection:
    """Read one connection of a job's event stream to its end (WHATWG framing, minimal)."""
    if last is not None:
        headers = {**headers, "Last-Event-ID": last}
    started = time.monotonic()
    fields: dict[str, str] = {}
    data: list[str] = []
    with httpx.stream("GET", f"{url}{API}/jobs/{job_id}/events", headers=headers,
                      timeout=httpx.Timeout(10, read=30)) as r:
        conn = Connection(r.status_code)
        try:
            for line in r.iter_lines():
                conn.arrivals.append(time.monotonic() - started)
                if line.startswith(":"):
                    conn.comments += 1
                elif line:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data":
                        data.append(value)
                    else:
                        fields[name] = value
                elif data:
                    conn.events.append(Event(
                        fields.get("id", ""), fields.get("event", "message"),
                        json.loads("\n".join(data)),
                    ))
                    fields, data = {}, []
        except httpx.HTTPError as exc:
            conn.error = f"{type(exc).__name__}: {exc}"
    conn.duration = time.monotonic() - started
    return conn


def submit(p: Proxied) -> str:
    r = httpx.post(f"{p.url}{API}/submit", json={"request": SEQUENTIAL}, headers=p.headers())
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id


def stored_result(p: Proxied, job_id: str) -> dict[str, Any]:
    r = httpx.get(f"{p.direct_url}{API}/jobs/{job_id}/result", headers=p.headers())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- 1. the synchronous endpoint ------------------------------------------------


def test_sync_process_waiting_past_the_limit_is_cut_by_the_proxy(old: Proxied) -> None:
    """The old failure, reproduced: the server would answer at 6 s, the proxy cuts at 3 s."""
    started = time.monotonic()
    r = httpx.post(f"{old.url}{API}/process", json=SEQUENTIAL, headers=old.headers(), timeout=30)
    elapsed = time.monotonic() - started

    assert is_nginx_timeout(r), (r.status_code, r.text[:300])
    assert PROXY_TIMEOUT_S - 0.1 <= elapsed < 6 - 0.5
    [entry] = old.nginx.requests(f"{API}/process", at_least=1)
    assert (entry["status"], entry["upstream_status"]) == (504, "504")
    assert "upstream timed out" in old.nginx.error_log.read_text()
    # The job runs on, but the caller never learned its id: only the job list shows it.
    jobs = httpx.get(f"{old.url}{API}/jobs", headers=old.headers()).json()["jobs"]
    assert jobs[0]["status"] in ("pending", "processing")


def test_sync_process_answers_202_with_the_job_id_before_the_limit(gateway: Proxied) -> None:
    started = time.monotonic()
    r = httpx.post(f"{gateway.url}{API}/process", json=SEQUENTIAL, headers=gateway.headers(),
                   timeout=30)
    elapsed = time.monotonic() - started

    assert r.status_code == 202, r.text[:300]
    assert 1.5 <= elapsed < PROXY_TIMEOUT_S
    body = r.json()
    assert r.headers["location"] == body["status_url"] == f"{API}/jobs/{body['job_id']}/status"
    [entry] = gateway.nginx.requests(f"{API}/process", at_least=1)
    assert entry["upstream_status"] == "202"
    status = httpx.get(f"{gateway.url}{body['status_url']}", headers=gateway.headers())
    assert status.status_code == 200 and status.json()["status"] in ("pending", "processing")


# -- 2. submit + wait, every client, every transport ----------------------------


def python_sdk(p: Proxied, channel: str) -> dict[str, Any]:
    events: list[str] = []
    started = time.monotonic()
    with jobgate.Client(p.url, p.token(), channel=channel) as c:  # type: ignore[arg-type]
        job = c.submit(SEQUENTIAL)
        done = c.wait(job.job_id, on_event=lambda e: events.append(e.id), timeout=60)
    assert done.result is not None
    jobgate.MultiAgentResponse.model_validate(done.result)
    return {"job_id": job.job_id, "result": done.result, "events": events,
            "elapsed_ms": (time.monotonic() - started) * 1000}


def ts_client(p: Proxied, transport: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node (20+) must be on PATH to run the TypeScript client"
    args = {"apiUrl": p.url, "token": p.token(), "transport": transport, "request": SEQUENTIAL,
            "timeout": 60_000}
    run = subprocess.run([node, str(DRIVER), json.dumps(args)], capture_output=True, text=True,
                         timeout=90)
    assert run.returncode == 0, run.stderr[-3000:]
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def test_submit_and_wait_through_the_proxy_returns_the_result(gateway: Proxied) -> None:
    runs = {
        "python sse": (python_sdk, "sse"),
        "python poll": (python_sdk, "poll"),
        "ts sse": (ts_client, "sse"),
        "ts poll": (ts_client, "poll"),
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {name: pool.submit(fn, gateway, how) for name, (fn, how) in runs.items()}
        outcomes = {name: f.result() for name, f in futures.items()}

    for name, out in outcomes.items():
        job_id = out["job_id"]
        stored = stored_result(gateway, job_id)
        assert stored["status"] == "completed", name
        assert out["result"] == stored["result"], name
        assert out["elapsed_ms"] > 2 * PROXY_TIMEOUT_S * 1000, name  # it outlived the proxy
        through = gateway.nginx.requests(job_id)
        results = [e for e in through if e["uri"].endswith("/result")]
        assert {e["status"] for e in through} <= {200, 202}, (name, through)
        assert max(e["request_time"] for e in through) < PROXY_TIMEOUT_S, name
        streams = [e for e in through if e["uri"].endswith("/events")]
        if name.endswith("sse"):
            # The server ends each stream at 2.5 s; the client resumed, and saw each event once.
            assert len(streams) >= 3, (name, len(streams))
            full = read_stream(gateway.direct_url, job_id, gateway.headers())
            *log, result, end = full.events
            assert (result.type, result.id, end.data["status"]) == ("result", "", "completed")
            assert out["events"] == [e.id for e in [*log, end]], name
            assert not results, name  # the stream carried the result
        else:
            assert not streams and sum(e["uri"].endswith("/status") for e in through) >= 2, name
            assert len(results) == 1, name  # the client's last request


# -- 3. a stream outlives the proxy's limit ------------------------------------


def test_heartbeats_keep_a_quiet_stream_open_past_the_proxy_limit(quiet: Proxied) -> None:
    """A queued job (no worker here) says nothing for 7 s; pings every 1 s keep it open."""
    job_id = submit(quiet)
    conn = read_stream(quiet.url, job_id, quiet.headers())

    assert conn.status == 200 and conn.error is None  # ended by the server, cleanly
    assert conn.duration >= 6.5 > 2 * PROXY_TIMEOUT_S
    assert [(e.type, e.data["status"]) for e in conn.events] == [("state", "pending")]
    assert conn.comments >= 5
    gaps = [b - a for a, b in zip([0.0, *conn.arrivals], conn.arrivals, strict=False)]
    assert max(gaps) < PROXY_TIMEOUT_S
    [entry] = quiet.nginx.requests(f"{job_id}/events", at_least=1)
    assert entry["status"] == 200 and entry["request_time"] >= 6.5


def test_without_heartbeats_the_proxy_cuts_a_quiet_stream(mute: Proxied) -> None:
    """The same stream with pings every 30 s: nginx drops it at its limit."""
    job_id = submit(mute)
    conn = read_stream(mute.url, job_id, mute.headers())

    assert conn.status == 200 and conn.error is not None  # cut mid-body
    assert PROXY_TIMEOUT_S - 0.1 <= conn.duration < 6.5
    assert "upstream timed out" in mute.nginx.error_log.read_text()


def test_resumed_streams_deliver_every_event_exactly_once(gateway: Proxied) -> None:
    """Each connection ends at 2.5 s, inside the proxy's 3 s; the reader resumes each time."""
    job_id = submit(gateway)
    connections: list[Connection] = []
    resumed_from: list[str] = []
    last: str | None = None
    while not (connections and connections[-1].terminal):
        assert len(connections) < 30, "the job did not end"
        resumed_from.append(last or "")
        conn = read_stream(gateway.url, job_id, gateway.headers(), last)
        assert conn.status == 200 and conn.error is None, conn.error
        connections.append(conn)
        last = conn.events[-1].id if conn.events else last

    seen = [e for c in connections for e in c.events]
    full = read_stream(gateway.direct_url, job_id, gateway.headers())  # one connection
    assert full.terminal and full.error is None
    assert [e.id for e in seen] == [e.id for e in full.events]
    assert seen == full.events
    assert len(connections) >= JOB_S // 2.5
    assert all(c.duration < PROXY_TIMEOUT_S for c in connections)
    # What the proxy saw: every stream 200, each resumed from the last event of the one before.
    log = gateway.nginx.requests(f"{job_id}/events", at_least=len(connections))
    assert [e["status"] for e in log] == [200] * len(connections)
    assert [e["last_event_id"] for e in log] == resumed_from
