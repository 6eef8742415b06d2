"""The WebSocket through a real nginx whose proxy_read_timeout is 3 s.

A socket is one long request to the proxy: nginx passes the upgrade
(proxy.conf.template) and closes the socket once the API has sent nothing
for the read timeout. With heartbeats inside that limit a quiet socket
lives on, several limits long, and then follows a job to its end; without
them (`JOBGATE_WS_HEARTBEAT_S` 30 s) the same socket is cut at the limit.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from jobgate.embedded import EmbeddedValkey
from tests.api.feeds import bearer, follow_to_end, open_ws, recv, send, submit
from tests.proxy.conftest import PROXY_TIMEOUT_S, start_api
from tests.proxy.nginx import Nginx, nginx_binary
from tests.server import Stack, wait_http

pytestmark = pytest.mark.proxy


@pytest.fixture(scope="module")
def proxied(
    valkey: EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, dict[str, Nginx]]]:
    """One worker; an API with 1 s heartbeats and one with 30 s, each behind its nginx."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed: the proxy tests need a real nginx binary")
    stack = Stack(valkey.url, f"wsproxy-{uuid.uuid4().hex[:10]}",
                  tmp_path_factory.mktemp("wsproxy"), extra_env={"JOBGATE_SIM_STEP_S": "0.4"})
    nginxes: dict[str, Nginx] = {}
    try:
        stack.start_worker()
        for name, beat in (("beating", "1"), ("mute", "30")):
            proc, port = start_api(stack, {"JOBGATE_WS_HEARTBEAT_S": beat})
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, 60)
            nginxes[name] = Nginx(tmp_path_factory.mktemp(f"nginx-{name}"), port,
                                  PROXY_TIMEOUT_S, binary=binary).start()
        yield stack, nginxes
    finally:
        for n in nginxes.values():
            n.stop()
        for p in stack.apis + stack.workers:
            p.signal(signal.SIGTERM)
        stack.stop()


async def test_a_socket_with_heartbeats_outlives_the_proxy_timeout(
    proxied: tuple[Stack, dict[str, Nginx]],
) -> None:
    stack, proxy = proxied[0], proxied[1]["beating"]
    headers = bearer(stack, f"u-{uuid.uuid4().hex[:8]}")
    async with open_ws(proxy.url, headers) as ws:
        await send(ws, type="subscribe", all=True)
        assert await recv(ws) == {"type": "ack", "op": "subscribe", "all": True}
        start, beats = time.monotonic(), 0
        while time.monotonic() - start < 3 * PROXY_TIMEOUT_S:  # quiet but for heartbeats
            assert await asyncio.wait_for(ws.recv(), 2 * PROXY_TIMEOUT_S) == \
                '{"type":"heartbeat"}'
            beats += 1
        assert beats >= 3
        async with httpx.AsyncClient(base_url=proxy.url, headers=headers, timeout=60) as c:
            job_id = await submit(c)  # seven steps of 0.4 s: it runs about as long as the limit
        messages = (await follow_to_end(ws, {job_id}, timeout=60))[job_id]
    assert messages[-2]["type"] == "result" and messages[-1]["data"]["status"] == "completed"
    upgrades = proxy.requests("/api/multi-agent/ws", at_least=1)
    assert upgrades and upgrades[-1]["status"] == 101


async def test_a_socket_without_heartbeats_is_cut_at_the_proxy_timeout(
    proxied: tuple[Stack, dict[str, Nginx]],
) -> None:
    """The limit is real: the same quiet socket, heartbeats 30 s apart, is closed by nginx."""
    stack, nginxes = proxied
    async with open_ws(nginxes["mute"].url, bearer(stack, "quiet")) as ws:
        await send(ws, type="subscribe", all=True)
        assert (await recv(ws))["type"] == "ack"
        start = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)  # the heartbeat would come at 30 s
        cut_after = time.monotonic() - start
    assert PROXY_TIMEOUT_S * 0.8 <= cut_after < 25
    assert ws.close_code == 1006  # nginx drops the connection: no close frame
