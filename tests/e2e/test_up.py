"""`jobgate up` on a fresh data dir: one command, and a restart keeps the jobs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jobgate.embedded import free_port
from tests.server import wait_http


def _up(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "JOB_"))}
    env.update({"JOBGATE_DATA_DIR": str(data), "JOBGATE_SIM_STEP_S": "0.05"})
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobgate.cli", "up", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    wait_http(f"http://127.0.0.1:{port}/readyz")
    return proc


def _token(log: Path) -> str:
    m = re.search(r"demo token \(sub=demo\): (\S+)", log.read_text())
    assert m, log.read_text()
    return m.group(1)


def test_up_serves_page_api_and_keeps_jobs_across_restart(tmp_path: Path) -> None:
    data, log, port = tmp_path / "data", tmp_path / "up.log", free_port()
    proc = _up(data, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        token = _token(log)
        h = {"Authorization": f"Bearer {token}"}
        assert "__JOBGATE_TOKEN__" in httpx.get(f"{base}/config.js").text
        assert httpx.get(f"{base}/").status_code == 200
        r = httpx.post(f"{base}/api/multi-agent/submit", headers=h, timeout=30,
                       json={"request": {"query": "x"}}, )
        job_id = r.json()["job_id"]
        r = httpx.post(f"{base}/api/multi-agent/submit", headers={**h, "Prefer": "wait=30"},
                       json={"request": {"query": "y"}}, timeout=40)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert (data / "auth_secret").stat().st_mode & 0o777 == 0o600

    proc = _up(data, port, log)
    try:
        h = {"Authorization": f"Bearer {token}"}  # same secret, so the old token still works
        deadline = time.monotonic() + 30
        while True:
            st = httpx.get(f"{base}/api/multi-agent/jobs/{job_id}/status", headers=h).json()
            if st["status"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert st["status"] == "completed"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
