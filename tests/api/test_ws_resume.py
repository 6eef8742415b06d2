"""A socket across an API restart: closed with 1001 at the stop signal, resumed
on another process with `last_event_id`, every event exactly once.

The job is held by a handler the test runs: it moves a step only when let
through, so the restart lands mid-job by construction, not by timing.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from jobgate.embedded import EmbeddedValkey
from tests.api.feeds import (
    Held,
    bearer,
    follow_to_end,
    log_ids,
    open_ws,
    recv,
    run_held,
    send,
    submit,
    until,
)
from tests.server import Stack


async def _close_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 30)
    except ConnectionClosed:
        return ws.close_code


def _step(n: int) -> Any:
    return lambda m: m.get("event") == "step" and m["data"]["step"] == n


async def test_resume_on_another_process_after_a_restart_mid_job(
    valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    s = Stack(valkey.url, f"wsr-{uuid.uuid4().hex[:10]}", tmp_path / "stack")
    first = s.start_api()
    s.start_api()
    elsewhere = f"http://127.0.0.1:{s.ports[1]}"
    try:
        async with httpx.AsyncClient(base_url=elsewhere, headers=bearer(s, "ann"),
                                     timeout=60) as http:
            job_id = await submit(http)
            handler = Held(6, only=job_id)
            worker = run_held(s, tmp_path / "worker", handler)
            async with open_ws(s.url, bearer(s, "ann")) as ws, \
                    open_ws(s.url, bearer(s, "ann")) as idle:
                await send(ws, type="subscribe", job_id=job_id)
                handler.allow(2)
                seen = await until(ws, _step(1))
                first.signal(signal.SIGTERM)  # the API process begins its shutdown
                codes = await asyncio.gather(_close_code(ws), _close_code(idle))
            assert codes == [1001, 1001]
            handler.allow(2)  # steps 2 and 3 land while no socket follows the job
            await handler.until_emitted(4)
            last = [m for m in seen if m["type"] == "event"][-1]["id"]
            async with open_ws(elsewhere, bearer(s, "ann")) as ws:
                await send(ws, type="subscribe", job_id=job_id, last_event_id=last)
                assert await recv(ws) == {"type": "ack", "op": "subscribe", "job_id": job_id}
                handler.allow(3)  # steps 4 and 5, then the end
                rest = (await follow_to_end(ws, {job_id}))[job_id]
            await asyncio.wait_for(worker, 60)
            ids = [m["id"] for m in seen + rest if m["type"] == "event"]
            assert ids == await log_ids(http, job_id)  # none lost, none twice, in order
            steps = [m["data"]["step"] for m in seen + rest if m.get("event") == "step"]
            assert steps == list(range(6))
            assert rest[-2]["type"] == "result" and rest[-1]["data"]["status"] == "completed"
        assert first.popen is not None
        first.popen.wait(30)  # it stopped (by the signal uvicorn re-raises), not hung
    finally:
        s.stop()
