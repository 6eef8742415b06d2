"""`jobgate up` started, stopped and started again as a person does it at a
terminal: real processes, real signals, the real embedded Valkey.

Ctrl-C in a terminal is SIGINT to the whole foreground process group, so
each `up` runs in a session of its own and the tests signal its group.
A job holds still while the test signals: it runs with a step of an hour
and the test waits until its status says `processing`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from jobgate.api.web import demo_token_allowed, is_loopback
from jobgate.embedded import EmbeddedValkey, free_port, server_pids, stop_servers_on

P = "/api/multi-agent"
START_S = 60  # a start on a busy two-core machine
STOP_BUDGET_S = 5  # what a person waits after Ctrl-C
HOLD = {"JOBGATE_SIM_STEP_S": "3600"}  # a job that stays `processing` until stopped
QUICK = {"JOBGATE_SIM_STEP_S": "0.05"}


def _sigint_as_in_a_terminal() -> None:
    """A suite started in the background has SIGINT ignored, and children inherit
    that; a terminal's Ctrl-C reaches a process whose SIGINT is the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Up:
    """One `jobgate up` process, its data dir, port and combined output."""

    data: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> Up:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"up not ready after {START_S}s:\n{self.output()}")

    def token(self) -> str:
        m = re.search(r"demo token \(sub=demo\): (\S+)", self.output())
        assert m, self.output()
        return m.group(1)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def submit(self) -> str:
        r = httpx.post(f"{self.base}{P}/submit", headers=self.headers(),
                       json={"request": {"query": "hold still"}}, timeout=30)
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    def status(self, job_id: str, wait: float = 0) -> dict[str, object]:
        r = httpx.get(f"{self.base}{P}/jobs/{job_id}/status", params={"wait": wait},
                      headers=self.headers(), timeout=wait + 30)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    def wait_for(self, job_id: str, state: str) -> dict[str, object]:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            st = self.status(job_id, wait=5)
            if st["status"] == state:
                return st
        raise AssertionError(f"job {job_id} never {state}: {st}\n{self.output()}")

    def states(self, job_id: str) -> list[dict[str, object]]:
        """The job's `state` events, from its event stream (which ends at the terminal one)."""
        out: list[dict[str, object]] = []
        kind = ""
        with httpx.stream("GET", f"{self.base}{P}/jobs/{job_id}/events",
                          headers=self.headers(), timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:") and kind == "state":
                    out.append(json.loads(line.partition(":")[2]))
        return out


@dataclass
class Ups:
    """Starts `up` processes and leaves none (nor their Valkey) behind."""

    tmp: Path
    started: list[Up] = field(default_factory=list)

    def start(self, data: Path, port: int, *args: str, env: dict[str, str] | None = None,
              ready: bool = True) -> Up:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "JOB_"))}
        base.update({"JOBGATE_DATA_DIR": str(data), "JOBGATE_LEASE_S": "2",
                     "JOBGATE_HEARTBEAT_S": "0.3", "PYTHONUNBUFFERED": "1", **(env or {})})
        log = self.tmp / f"up-{len(self.started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jobgate.cli", "up", "--port", str(port), *args],
                env=base, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_sigint_as_in_a_terminal,
            )
        up = Up(data, port, log, proc)
        self.started.append(up)
        return up.wait_ready() if ready else up

    def cleanup(self) -> None:
        for up in self.started:
            if up.proc.poll() is None:
                up.proc.kill()
                up.proc.wait()
        for data in {up.data for up in self.started}:
            stop_servers_on(data / "valkey")


@pytest.fixture
def ups(tmp_path: Path) -> Iterator[Ups]:
    u = Ups(tmp_path)
    yield u
    u.cleanup()


def _after(text: str, marker: str) -> list[str]:
    return text.partition(marker)[2].splitlines()


def test_ctrl_c_with_a_running_job_stops_quietly_and_the_job_runs_at_the_next_start(
    ups: Ups, tmp_path: Path
) -> None:
    data, port = tmp_path / "data", free_port()
    first = ups.start(data, port, env=HOLD)
    job_id = first.submit()
    first.wait_for(job_id, "processing")

    began = time.monotonic()
    first.ctrl_c()
    first.proc.wait(timeout=STOP_BUDGET_S)
    took = time.monotonic() - began

    assert first.proc.returncode == 0, first.output()
    assert server_pids(data / "valkey") == [], "a Valkey outlived its jobgate"
    out = first.output()
    after = _after(out, '"msg":"Shutting down"')
    noisy = [line for line in after if '"level":"warning"' in line or '"level":"error"' in line
             or "refused" in line.lower()]
    assert noisy == [], "\n".join(noisy)
    assert "handed back 1 jobs" in out, out
    assert took < STOP_BUDGET_S
    print(f"Ctrl-C with a running job: stopped in {took:.2f}s")

    again = ups.start(data, port, env=QUICK)
    assert again.wait_for(job_id, "completed")["status"] == "completed"
    states = again.states(job_id)
    runs = [s for s in states if s["status"] == "processing"]
    assert len(runs) == 2, states  # interrupted once, then run again to the end
    assert any(s.get("message") == "worker shutting down; requeued" for s in states), states
    again.ctrl_c()
    assert again.proc.wait(timeout=30) == 0


def test_a_second_ctrl_c_hands_the_jobs_back_at_once(ups: Ups, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    # A grace far longer than the test: only the second Ctrl-C can end the stop in time.
    first = ups.start(data, port, env={**HOLD, "JOBGATE_SHUTDOWN_GRACE_S": "600"})
    job_id = first.submit()
    first.wait_for(job_id, "processing")

    first.ctrl_c()
    deadline = time.monotonic() + 30
    while '"msg":"Shutting down"' not in first.output():  # the first stop is under way
        assert time.monotonic() < deadline, first.output()
        time.sleep(0.05)
    began = time.monotonic()
    first.ctrl_c()
    first.proc.wait(timeout=STOP_BUDGET_S)
    took = time.monotonic() - began
    assert took < STOP_BUDGET_S
    print(f"second Ctrl-C: stopped in {took:.2f}s")
    assert "handed back 1 jobs" in first.output(), first.output()
    assert server_pids(data / "valkey") == []

    again = ups.start(data, port, env=QUICK)
    assert again.wait_for(job_id, "completed")["status"] == "completed"


def test_a_second_up_on_the_same_dir_or_port_is_refused_and_starts_nothing(
    ups: Ups, tmp_path: Path
) -> None:
    data, port = tmp_path / "data", free_port()
    first = ups.start(data, port)
    assert len(server_pids(data / "valkey")) == 1

    same_dir = ups.start(data, free_port(), ready=False)
    assert same_dir.proc.wait(timeout=START_S) != 0
    assert same_dir.output().strip().splitlines() == [
        f"error: another jobgate is running on {data} (pid {first.proc.pid})"
    ]

    other = tmp_path / "other"
    same_port = ups.start(other, port, ready=False)
    assert same_port.proc.wait(timeout=START_S) != 0
    assert same_port.output().strip().splitlines() == [
        f"error: port {port} is in use on 127.0.0.1"
    ]

    assert len(server_pids(data / "valkey")) == 1  # still exactly the first one's
    assert server_pids(other / "valkey") == []
    assert httpx.get(f"{first.base}/readyz").status_code == 200


def test_a_killed_up_never_blocks_the_next_start(ups: Ups, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    first = ups.start(data, port, env=QUICK)
    token = first.token()
    job_id = first.submit()
    first.proc.kill()  # SIGKILL: no clean-up ran; the lock file is still there
    first.proc.wait()
    assert (data / "jobgate.lock").read_text().strip() == str(first.proc.pid)

    again = ups.start(data, port, env=QUICK)
    assert len(server_pids(data / "valkey")) == 1
    assert (data / "jobgate.lock").read_text().strip() == str(again.proc.pid)
    r = httpx.get(f"{again.base}{P}/jobs/{job_id}/status",
                  headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text  # the job survived, the old token still works
    assert again.wait_for(job_id, "completed")["status"] == "completed"


def test_a_valkey_left_running_on_the_dir_is_stopped_before_the_new_one_starts(
    ups: Ups, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    # As if a killed `up` had left its server behind (one that does not die with it).
    leftover = EmbeddedValkey(data / "valkey", die_with_parent=False)
    leftover.start()
    try:
        up = ups.start(data, free_port(), env=QUICK)
        assert leftover.proc is not None
        assert leftover.proc.wait(timeout=30) == 0  # SIGTERM: a clean exit, AOF flushed
        pids = server_pids(data / "valkey")
        assert len(pids) == 1 and leftover.proc.pid not in pids
        assert "stopping a Valkey left running" in up.output()
    finally:
        leftover.kill()


def test_the_demo_token_is_served_on_loopback_only_unless_asked() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("")
    assert not is_loopback("192.168.1.10") and not is_loopback("example.com")
    assert demo_token_allowed("127.0.0.1", demo=False)
    assert not demo_token_allowed("0.0.0.0", demo=False)
    assert demo_token_allowed("0.0.0.0", demo=True)


def test_config_js_has_no_token_off_loopback_without_demo(ups: Ups, tmp_path: Path) -> None:
    data = tmp_path / "data"
    public = ups.start(data, free_port(), "--host", "0.0.0.0")
    assert "__JOBGATE_TOKEN__" not in httpx.get(f"{public.base}/config.js").text
    assert "paste it into the page" in public.output()
    public.ctrl_c()
    assert public.proc.wait(timeout=30) == 0

    demo = ups.start(data, free_port(), "--host", "0.0.0.0", "--demo")
    assert demo.token() in httpx.get(f"{demo.base}/config.js").text
    warned = [line for line in demo.output().splitlines() if '"level":"warning"' in line]
    assert any("--demo" in line for line in warned), demo.output()
    demo.ctrl_c()
    assert demo.proc.wait(timeout=30) == 0


def test_the_banner_ends_with_the_url_the_token_and_how_to_stop(
    ups: Ups, tmp_path: Path
) -> None:
    up = ups.start(tmp_path / "data", free_port())
    deadline = time.monotonic() + 30
    while "Ctrl-C to stop" not in up.output():
        assert time.monotonic() < deadline, up.output()
        time.sleep(0.05)
    lines = [line for line in up.output().splitlines() if not line.startswith("{")]
    assert lines[-3:] == [f"demo page: {up.base}", f"demo token (sub=demo): {up.token()}",
                          "Ctrl-C to stop"]
