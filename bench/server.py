"""The shared Valkey (pinned to core 0) and the processes under test (core 1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from jobgate.embedded import EmbeddedValkey

ROOT = Path(__file__).resolve().parent.parent
VALKEY_CORE, SUT_CORE = "0", "1"


def pinned(core: str, args: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", core, *args]
    return args


@dataclass
class Valkey:
    embedded: EmbeddedValkey
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls) -> Valkey:
        data = Path(tempfile.mkdtemp(prefix="bench-valkey-"))
        ev = EmbeddedValkey(data, persistence=False)
        cmd = pinned(VALKEY_CORE, [*ev.command(), "--maxclients", "20000"])
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        ev.proc = proc
        ev._wait_ready(15)
        return cls(ev, proc)

    @property
    def url(self) -> str:
        return self.embedded.url

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        self.embedded.stop()


def driver_env(url: str, pythonpath: str = str(ROOT), **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "BENCH_"))}
    env.update({"PYTHONPATH": pythonpath, "BENCH_REDIS_URL": url, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_json(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run a driver to completion; its last stdout line is its JSON report."""
    p = subprocess.run(pinned(SUT_CORE, args), env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args[:4])} failed ({p.returncode}): {p.stderr[-1500:]}")
    out: dict[str, Any] = json.loads(lines[-1])
    return out


class Background:
    """A worker (or API) process the orchestrator starts and stops."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path,
                 core: str | None = SUT_CORE) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                pinned(core, args) if core else args, env=env, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""


def wait_file(path: Path, proc: Background, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            time.sleep(0.01)
            out: dict[str, Any] = json.loads(path.read_text())
            return out
        if not proc.alive():
            raise RuntimeError(f"worker exited: {proc.tail()}")
        time.sleep(0.02)
    raise TimeoutError(f"worker did not finish in {timeout:.0f}s: {proc.tail()}")


def python_for(peer: bool) -> str:
    venv = ROOT / "bench" / ".venv" / "bin" / "python"
    return str(venv) if peer and venv.exists() else sys.executable
