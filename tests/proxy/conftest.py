"""Fixtures of the proxy tests: `jobgate api` processes, each behind its own
real nginx whose proxy_read_timeout (3 s) stands in for Cloudflare's 60 s.

Everything starts once per module and in parallel: each test needs a job that
outlives the proxy limit several times over, and starting servers one by one
would spend the time budget on start-ups.
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from jobgate.embedded import EmbeddedValkey, free_port
from tests.proxy.nginx import Nginx, nginx_binary
from tests.server import Proc, Stack, wait_http

PROXY_TIMEOUT_S = 3.0
"""The proxy's limit, scaled down from Cloudflare's 60 s."""
STEP_S = 1.5
"""Seconds per simulated agent call: seven sequential steps take ~10.5 s,
three and a half times the proxy's limit."""
SEQUENTIAL = {"query": "a marketplace for camping gear", "coordination_mode": "sequential"}

APIS: dict[str, tuple[str, dict[str, str]]] = {
    # /process waits 6 s: longer than the proxy lets it (the old failure).
    "old": ("working", {"JOBGATE_SYNC_WAIT_S": "6"}),
    # As it should run behind this proxy: /process answers before the limit,
    # heartbeats and the per-connection cap well inside it.
    "gateway": ("working", {
        "JOBGATE_SYNC_WAIT_S": "1.5",
        "JOBGATE_SSE_HEARTBEAT_S": "1",
        "JOBGATE_SSE_MAX_CONNECTION_S": "2.5",
    }),
    # No worker in "idle": its jobs stay queued and their streams quiet.
    "quiet": ("idle", {"JOBGATE_SSE_HEARTBEAT_S": "1", "JOBGATE_SSE_MAX_CONNECTION_S": "7"}),
    "mute": ("idle", {"JOBGATE_SSE_HEARTBEAT_S": "30", "JOBGATE_SSE_MAX_CONNECTION_S": "7"}),
}


@dataclass
class Proxied:
    """One API process and the nginx in front of it."""

    stack: Stack
    api_port: int
    nginx: Nginx

    @property
    def url(self) -> str:
        """Through the proxy."""
        return self.nginx.url

    @property
    def direct_url(self) -> str:
        """Around the proxy, straight to the API."""
        return f"http://127.0.0.1:{self.api_port}"

    def headers(self) -> dict[str, str]:
        return self.stack.headers()

    def token(self) -> str:
        return self.stack.token()


def start_api(stack: Stack, env: dict[str, str]) -> tuple[Proc, int]:
    """Like `Stack.start_api` with extra env, without waiting for it to come up."""
    port = free_port()
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    proc = Proc(
        [sys.executable, "-m", "jobgate.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
        {**stack.env, **env}, stack.data_dir / f"api-{port}.log",
    ).start()
    stack.apis.append(proc)  # stopped with the stack
    return proc, port


@pytest.fixture(scope="module")
def proxies(
    valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Proxied]]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed: the proxy tests need a real nginx binary")
    stacks = {
        name: Stack(valkey.url, f"proxy-{uuid.uuid4().hex[:12]}", tmp_path_factory.mktemp(name),
                    extra_env={"JOBGATE_SIM_STEP_S": str(STEP_S)})
        for name in ("working", "idle")
    }
    nginxes: list[Nginx] = []
    try:
        stacks["working"].start_worker()
        started = {name: start_api(stacks[s], env) for name, (s, env) in APIS.items()}
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(lambda pp: wait_http(f"http://127.0.0.1:{pp[1]}/healthz", pp[0], 60),
                          started.values()))
        out = {}
        for name, (_, port) in started.items():
            nginx = Nginx(tmp_path_factory.mktemp(f"nginx-{name}"), port, PROXY_TIMEOUT_S,
                          binary=binary)
            nginxes.append(nginx)
            out[name] = Proxied(stacks[APIS[name][0]], port, nginx.start())
        yield out
    finally:
        for n in nginxes:
            n.stop()
        procs = [p for s in stacks.values() for p in s.apis + s.workers]
        for p in procs:  # all at once: each takes a moment to shut down gracefully
            p.signal(signal.SIGTERM)
        for p in procs:
            p.stop()


@pytest.fixture
def old(proxies: dict[str, Proxied]) -> Proxied:
    return proxies["old"]


@pytest.fixture
def gateway(proxies: dict[str, Proxied]) -> Proxied:
    return proxies["gateway"]


@pytest.fixture
def quiet(proxies: dict[str, Proxied]) -> Proxied:
    return proxies["quiet"]


@pytest.fixture
def mute(proxies: dict[str, Proxied]) -> Proxied:
    return proxies["mute"]
