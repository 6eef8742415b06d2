"""What the crash tests share: a cluster of real processes, and ways to look inside.

`Cluster` is the suite's `Stack` (real `jobgate api` / `jobgate worker`
subprocesses) plus workers run from `worker_script.py` (extra job kinds),
respawning a dead process in place, and finding which worker holds a job.
Everything a test asserts is read back from Valkey or over HTTP, never from
the processes' memory: they are the ones being killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from jobgate import serde
from jobgate.agents.models import ALL_AGENTS
from jobgate.store import eventlog
from jobgate.store.keys import Keys
from tests.server import Proc, Stack, wait_http

WORKER_SCRIPT = Path(__file__).with_name("worker_script.py")
PREFIX = "/api/multi-agent"
STARTUP_S = 120.0
"""The longest wait for anything that needs a fresh process first: a busy machine
can take tens of seconds to start Python. A wait ends as soon as its condition
holds, so a generous bound costs nothing when all is well."""


def request_body(steps: int = 1, query: str = "chaos job") -> dict[str, Any]:
    """A multi-agent request of exactly `steps` simulated agent calls, run one after another."""
    agents = [a.value for a in ALL_AGENTS[:steps]]
    return {"request": {"query": query, "coordination_mode": "sequential",
                        "supporting_agents": agents}}


@dataclass
class Cluster(Stack):
    """A Stack whose workers can be killed, paused and respawned by the test."""

    spawned: int = 0
    deaths: int = 0
    retired: list[Proc] = field(default_factory=list)  # replaced; reaped at the end

    def _spawn(self, args: list[str], env: dict[str, str]) -> Proc:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.spawned += 1
        return Proc(args, env, self.data_dir / f"worker-{self.spawned}.log").start()

    def start_chaos_worker(
        self, concurrency: int = 8, metrics_port: int | None = None, **env: str
    ) -> Proc:
        args = [sys.executable, str(WORKER_SCRIPT), "--concurrency", str(concurrency)]
        if metrics_port:
            args += ["--metrics-port", str(metrics_port)]
        proc = self._spawn(args, {**self.env, **env})
        self.workers.append(proc)
        return proc

    def start_worker(self, concurrency: int = 8, **env: str) -> Proc:
        args = [sys.executable, "-m", "jobgate.cli", "worker", "--concurrency", str(concurrency)]
        proc = self._spawn(args, {**self.env, **env})
        self.workers.append(proc)
        return proc

    def respawn(self, proc: Proc) -> Proc:
        """Start a fresh process like `proc` (which is dead or dying) in its place."""
        new = self._spawn(proc.args, proc.env)
        self.workers[self.workers.index(proc)] = new
        self.retired.append(proc)
        return new

    def respawn_dead(self) -> int:
        """What a supervisor (Kubernetes) does: restart every worker that exited."""
        n = 0
        for p in list(self.workers):
            if p.popen is not None and p.popen.poll() is not None:
                self.deaths += 1
                self.respawn(p)
                n += 1
        return n

    def restart_api(self, index: int) -> Proc:
        old = self.apis[index]
        old.kill()
        new = Proc(old.args, old.env, old.log).start()
        self.apis[index] = new
        self.retired.append(old)
        wait_http(f"http://127.0.0.1:{self.ports[index]}/healthz", new)
        return new

    def stop(self) -> None:
        for p in self.workers + self.retired:  # SIGKILL reaches a SIGSTOPped one too
            p.kill()
        super().stop()

    def api_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def holder(self, r: redis.Redis, job_id: str) -> Proc | None:
        """The worker process whose lease the job carries (lease = host-pid-hex:fence)."""
        lease = r.hget(Keys(self.namespace).job(job_id), "lease")
        if not lease:
            return None
        pid = int(str(lease).split(":")[0].split("-")[-2])
        return next((p for p in self.workers if p.popen is not None and p.pid == pid), None)


def running_ids(r: redis.Redis, namespace: str) -> set[str]:
    """The jobs holding a lease, in every partition."""
    keys = Keys(namespace)
    return {j for p in range(keys.partitions) for j in r.zrange(keys.leases(p), 0, -1)}


def sync_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)


@dataclass(frozen=True)
class Event:
    ms: int  # Valkey's clock when it was written (the stream id's time part)
    id: str
    type: str
    data: dict[str, Any]


def events(r: redis.Redis, namespace: str, job_id: str) -> list[Event]:
    """The job's stored events, read as the store reads them (a finished job's
    log is compacted into its record)."""
    keys = Keys(namespace)
    stream = r.xrange(keys.events(job_id))
    raw = eventlog.read(stream, r.hmget(keys.job(job_id), eventlog.FIELDS), None, 10**6)
    return [Event(int(eid.split("-")[0]), eid, etype, serde.loads(data))
            for eid, etype, data in raw]


def terminal_events(evs: Iterable[Event]) -> list[Event]:
    return [e for e in evs if e.type == "state"
            and e.data.get("status") in ("completed", "failed", "cancelled")]


def job_hash(r: redis.Redis, namespace: str, job_id: str) -> dict[str, str]:
    return dict(r.hgetall(Keys(namespace).job(job_id)))


def namespace_keys(r: redis.Redis, namespace: str) -> set[str]:
    return set(r.scan_iter(match="{" + namespace + "*", count=1000))


async def wait_states(
    r: redis.Redis, namespace: str, ids: Iterable[str], states: set[str], stall_s: float
) -> dict[str, dict[str, str]]:
    """Poll Valkey until every job is in one of `states`; the job hashes.

    Waits as long as the work takes: it fails only when no further job has
    reached `states` for `stall_s` seconds, so a backlog drains at whatever
    pace the machine allows while a stuck job is still caught.
    """
    ids, keys = list(ids), Keys(namespace)
    done, last_progress = -1, time.monotonic()
    while True:
        pipe = r.pipeline(transaction=False)
        for j in ids:
            pipe.hget(keys.job(j), "state")
        seen = dict(zip(ids, pipe.execute(), strict=True))
        waiting = [j for j, state in seen.items() if state not in states]
        if not waiting:
            break
        if len(ids) - len(waiting) > done:
            done, last_progress = len(ids) - len(waiting), time.monotonic()
        elif time.monotonic() - last_progress > stall_s:
            sample = {j: seen[j] for j in waiting[:5]}
            raise AssertionError(f"{len(waiting)} of {len(ids)} jobs not in {states}, none "
                                 f"further for {stall_s}s: {sample}")
        await asyncio.sleep(min(0.1 + len(ids) / 10_000, 1.0))
    pipe = r.pipeline(transaction=False)
    for j in ids:
        pipe.hgetall(keys.job(j))
    return dict(zip(ids, pipe.execute(), strict=True))


def open_gate(r: redis.Redis, namespace: str, name: str) -> None:
    """Let every `gate` job (worker_script.py) named `name` finish."""
    r.set(f"{namespace}:gate:{name}", 1)


async def wait_until(predicate: Any, timeout: float, what: str, every: float = 0.05) -> float:
    """Poll a callable until it is truthy; the seconds it took."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)
    return time.monotonic() - t0


def waiting_clients(url: str, channel: str = "long_poll") -> float:
    """The API's own gauge of clients waiting on it right now (long-poll, SSE)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'jobgate_waiting_clients{{channel="{channel}"}}'):
            return float(line.split()[-1])
    return 0.0


@dataclass
class Poller:
    """A client polling one job's status as fast as a busy browser, recording what it saw."""

    client: httpx.AsyncClient
    job_id: str
    codes: list[int] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def run(self, every: float = 0.05) -> None:
        while True:
            try:
                r = await self.client.get(f"{PREFIX}/jobs/{self.job_id}/status")
            except httpx.TransportError as exc:
                self.errors.append(repr(exc))
                await asyncio.sleep(every)
                continue
            self.codes.append(r.status_code)
            if r.status_code == 200:
                body = r.json()
                self.seen.append(body)
                if body["status"] in ("completed", "failed", "cancelled"):
                    return
            await asyncio.sleep(every)

    @property
    def server_errors(self) -> list[int]:
        return [c for c in self.codes if c >= 500]


def report(scenario: str, **figures: Any) -> None:
    """Print a scenario's figures; with JOBGATE_CHAOS_REPORT=path, append them as JSON."""
    import json
    import os

    line = json.dumps({"scenario": scenario, **figures})
    print(f"\n[figures] {line}")
    path = os.environ.get("JOBGATE_CHAOS_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


class RawHTTP:
    """A bare HTTP/1.1 keep-alive client for load: httpx costs the test process
    several ms of CPU a request, more than the server it measures.

    Only what jobgate's JSON answers need (Content-Length bodies). Raises
    ConnectionError when the server is gone, so the caller can fail over.
    """

    def __init__(self, host: str, port: int, size: int = 16) -> None:
        self.host, self.port = host, port
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(size):
            self._idle.put_nowait(None)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        data = serde.dumps(body).encode() if body is not None else b""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        raw = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}"
               f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
               ).encode() + data
        conn = await self._idle.get()
        for fresh in (conn is None, True):  # a kept-alive connection may have timed out
            try:
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                status, got, payload = await self._exchange(*conn, raw)
                break
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                if conn is not None:
                    conn[1].close()
                conn = None
                if fresh:
                    self._idle.put_nowait(None)
                    raise ConnectionError(f"{method} {path}: {exc!r}") from None
        self._idle.put_nowait(conn)
        return status, got, serde.loads(payload) if payload else None

    @staticmethod
    async def _exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        writer.write(raw)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection")
        status = int(status_line.split()[1])
        got: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode("latin-1").partition(":")
            got[k.strip().lower()] = v.strip()
        return status, got, await reader.readexactly(int(got.get("content-length", "0")))

    async def aclose(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()
                with contextlib.suppress(OSError):
                    await conn[1].wait_closed()
