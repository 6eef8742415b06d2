"""An API process killed or stopped while clients wait on it: the clients
carry on, and a stop answers its waiters at once instead of holding them."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from typing import Any

import httpx

from tests.api.held import QUICK, P, long_polls
from tests.server import Stack


def submit(c: httpx.Client) -> httpx.Response:
    return c.post(f"{P}/submit", json={"request": QUICK})


def until_long_polling(url: str) -> None:
    """Return once the API process holds a long-poll (its /metrics gauge)."""
    deadline = time.monotonic() + 30
    while long_polls(httpx.get(f"{url}/metrics").text) < 1:
        assert time.monotonic() < deadline, "the long-poll never started waiting"
        time.sleep(0.02)


def test_api_restart_mid_wait_clients_carry_on(valkey: Any, tmp_path: Any) -> None:
    s = Stack(valkey.url, f"rst-{uuid.uuid4().hex[:8]}", tmp_path)
    s.start_api()  # no worker yet: the job waits in `pending` while the API is killed
    try:
        c = httpx.Client(base_url=s.url, headers=s.headers("alice"), timeout=30)
        job_id = submit(c).json()["job_id"]
        seen: list[str] = []
        errors: list[str] = []

        def waiter() -> None:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    st = c.get(f"{P}/jobs/{job_id}/status", params={"wait": 20}).json()
                except httpx.TransportError as exc:
                    errors.append(type(exc).__name__)
                    time.sleep(0.2)
                    continue
                seen.append(st["status"])
                if st["status"] == "completed":
                    return

        t = threading.Thread(target=waiter)
        t.start()
        until_long_polling(s.url)
        s.apis[0].kill()
        s.start_api(port=s.ports[0])
        s.start_worker()
        t.join(100)
        assert seen and seen[-1] == "completed"
        assert errors  # the kill did cut the waiting request...
        assert c.get(f"{P}/jobs/{job_id}/result").json()["status"] == "completed"  # ...not the job
        c.close()
    finally:
        s.stop()


def test_sigterm_ends_open_streams_and_long_polls_at_once(valkey: Any, tmp_path: Any) -> None:
    """A stopping API closes its streams cleanly and answers its long-polls now
    (the clients resume on another process) instead of holding shutdown until
    each reaches its cap (360 s), or being cut when the shutdown grace runs out."""
    s = Stack(valkey.url, f"term-{uuid.uuid4().hex[:8]}", tmp_path)
    s.start_api()  # no worker: the job stays pending, its stream quiet
    try:
        c = httpx.Client(base_url=s.url, headers=s.headers("alice"), timeout=60)
        job_id = submit(c).json()["job_id"]
        got: list[str] = []
        polled: list[int] = []
        ended: dict[str, float] = {}

        def read() -> None:
            try:
                with c.stream("GET", f"{P}/jobs/{job_id}/events") as r:
                    got.extend(r.iter_lines())
            except httpx.TransportError as exc:
                got.append(f"cut: {type(exc).__name__}")
            ended["sse"] = time.monotonic()

        def long_poll() -> None:
            r = c.get(f"{P}/jobs/{job_id}/status", params={"wait": 50})
            polled.append(r.status_code)
            ended["poll"] = time.monotonic()

        threads = [threading.Thread(target=read), threading.Thread(target=long_poll)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while "id: 0-1" not in got and time.monotonic() < deadline:
            time.sleep(0.02)
        until_long_polling(s.url)
        assert "id: 0-1" in got and not polled
        stopped = time.monotonic()
        s.apis[0].signal(signal.SIGTERM)
        for t in threads:
            t.join(40)
        assert not any(line.startswith("cut") for line in got), got  # closed, not cut
        assert polled == [200]
        # far sooner than the 50 s wait, the 360 s cap or the 7 s shutdown grace
        assert max(ended.values()) - stopped < 5, ended
        # uvicorn re-raises the signal once it has shut down cleanly
        assert s.apis[0].popen is not None and s.apis[0].popen.wait(20) in (0, -signal.SIGTERM)
        c.close()
    finally:
        s.stop()
