"""The embedded Valkey: persistence across restarts, and the eviction guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobgate.embedded import EmbeddedValkey
from jobgate.errors import ConfigError
from jobgate.job import JobState
from jobgate.services import Services
from jobgate.store.connection import check_eviction_policy, connect
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
        await check_eviction_policy(r)  # noeviction: fine
        await r.config_set("maxmemory-policy", "allkeys-lru")
        with pytest.raises(ConfigError, match="noeviction"):
            await check_eviction_policy(r)
        await r.aclose()
    finally:
        server.stop()
