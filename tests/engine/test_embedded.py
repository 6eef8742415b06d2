"""The embedded Valkey: persistence across restarts, the eviction guard, and its
process: its own session, gone with its parent, never two on one directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobgate.embedded import EmbeddedValkey, server_pids
from jobgate.errors import ConfigError
from jobgate.job import JobState
from jobgate.services import Services
from jobgate.store.connection import check_eviction_policy, connect
from jobgate.store.lane import Lane
from tests.helpers import make_settings


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_acknowledged_jobs_survive_a_restart(tmp_path: Path, how: str) -> None:
    server = EmbeddedValkey(tmp_path / "vk", appendfsync="always")
    server.start()
    settings = make_settings(server.url, "restart", tmp_path)
    try:
        svc = await Services.open(settings)
        ids = [(await svc.store.enqueue("noop", f"u{i % 20}", {"i": i})).job_id
               for i in range(200)]
        await svc.close()
    finally:
        server.stop() if how == "stop" else server.kill()

    again = EmbeddedValkey(tmp_path / "vk", port=server.port, appendfsync="always")
    again.start()
    try:
        svc = await Services.open(settings)
        for job_id in ids:
            job = await svc.store.get(job_id)
            assert job is not None and job.state is JobState.PENDING
        assert sum((await svc.store.queue_depths()).values()) == 200
        await svc.close()
    finally:
        again.stop()


async def test_a_server_that_may_evict_is_refused(tmp_path: Path) -> None:
    server = EmbeddedValkey(tmp_path / "vk", persistence=False)
    server.start()
    try:
        r = connect(server.url, 1.0)
        lane = Lane(r, "test")
        await check_eviction_policy(lane)  # noeviction: fine
        await r.config_set("maxmemory-policy", "allkeys-lru")
        with pytest.raises(ConfigError, match="noeviction"):
            await check_eviction_policy(lane)
        await lane.aclose()
        await r.aclose()
    finally:
        server.stop()


def test_the_server_is_out_of_the_terminals_process_group(tmp_path: Path) -> None:
    """A terminal's Ctrl-C goes to the foreground process group: not to Valkey."""
    server = EmbeddedValkey(tmp_path / "vk", persistence=False)
    server.start()
    try:
        assert server.proc is not None
        assert os.getsid(server.proc.pid) == server.proc.pid != os.getsid(0)
        assert os.getpgid(server.proc.pid) != os.getpgid(0)
        assert server_pids(tmp_path / "vk") == [server.proc.pid]
    finally:
        server.stop()
    assert server_pids(tmp_path / "vk") == []


def test_the_server_dies_with_its_parent(tmp_path: Path) -> None:
    """SIGKILL of the process that started it (no clean-up runs) still stops it."""
    code = (
        "import sys, time\n"
        "from jobgate.embedded import EmbeddedValkey\n"
        "s = EmbeddedValkey(sys.argv[1], persistence=False)\n"
        "s.start()\n"
        "print(s.proc.pid, flush=True)\n"
        "time.sleep(3600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "vk")],
                          stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            pid = int(parent.stdout.readline())
            assert server_pids(tmp_path / "vk") == [pid]
        finally:
            parent.kill()
    deadline = time.monotonic() + 30
    while server_pids(tmp_path / "vk"):
        assert time.monotonic() < deadline, "the server outlived its parent"
        time.sleep(0.05)


def test_a_new_server_stops_one_left_running_on_its_dir(tmp_path: Path) -> None:
    """Two servers must never share one append-only file."""
    old = EmbeddedValkey(tmp_path / "vk", die_with_parent=False)
    old.start()
    new = EmbeddedValkey(tmp_path / "vk")
    try:
        new.start()
        assert old.proc is not None and new.proc is not None
        assert old.proc.wait(timeout=30) == 0  # SIGTERM: a clean exit
        assert server_pids(tmp_path / "vk") == [new.proc.pid]
    finally:
        old.kill()
        new.stop()
