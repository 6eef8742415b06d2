"""Real server processes for tests: `jobgate api` and `jobgate worker` subprocesses.

Each test gets its own namespace on the session's Valkey, so many servers
can share one Valkey without seeing each other's jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from jobgate.api.auth import mint_token
from jobgate.embedded import free_port

SECRET = "test-secret-please-change-0123456789"


def server_env(redis_url: str, namespace: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "JOB_"))}
    env.update({
        "JOBGATE_REDIS_URL": redis_url,
        "JOBGATE_NAMESPACE": namespace,
        "JOBGATE_DATA_DIR": str(data_dir),
        "JOBGATE_AUTH_SECRET": SECRET,
        "JOBGATE_SIM_STEP_S": "0.05",
        "JOBGATE_LEASE_S": "2",
        "JOBGATE_HEARTBEAT_S": "0.3",
        "JOBGATE_WORKER_POLL_S": "0.2",
        "JOBGATE_RETRY_BASE_S": "0.05",
        "JOBGATE_SHUTDOWN_GRACE_S": "2",
        "JOBGATE_LOG_LEVEL": "WARNING",
    })
    env.update(extra)
    return env


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def signal(self, sig: signal.Signals) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Stack:
    """An API process and worker processes sharing one namespace."""

    redis_url: str
    namespace: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return server_env(self.redis_url, self.namespace, self.data_dir, **self.extra_env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def token(self, sub: str = "alice", ttl: int = 3600) -> str:
        return mint_token(SECRET, sub, ttl)

    def headers(self, sub: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub)}"}

    def start_api(self, port: int | None = None) -> Proc:
        port = port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        proc = Proc(
            [sys.executable, "-m", "jobgate.cli", "api", "--host", "127.0.0.1",
             "--port", str(port)],
            self.env, self.data_dir / f"api-{port}.log",
        ).start()
        self.apis.append(proc)
        self.ports.append(port)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        return proc

    def start_worker(self, concurrency: int = 8, **env: str) -> Proc:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        n = len(self.workers)
        proc = Proc(
            [sys.executable, "-m", "jobgate.cli", "worker", "--concurrency", str(concurrency)],
            {**self.env, **env}, self.data_dir / f"worker-{n}.log",
        ).start()
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.apis + self.workers:
            p.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log.name}\n{p.log.read_text()[-3000:]}"
            for p in self.apis + self.workers if p.log.exists()
        )


def wait_http(url: str, proc: Proc | None = None, timeout: float = 90) -> None:
    """Until `url` answers 200. A process that exits fails at once; one that is only
    slow to start (a busy machine can take tens of seconds to import) is waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"server exited: {proc.log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up in {timeout}s")
