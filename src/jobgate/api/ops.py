"""Health, readiness and metrics: no token, kept off the public ingress."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobgate import metrics
from jobgate.services import Services
from jobgate.store.connection import TRANSIENT

log = logging.getLogger(__name__)


def router() -> APIRouter:
    r = APIRouter(include_in_schema=True, tags=["operations"])

    @r.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive (it answers); says nothing of Redis."""
        return {"status": "ok"}

    @r.get("/readyz")
    async def readyz(request: Request) -> Response:
        """Ready when Redis answers; 503 otherwise, so the pod leaves the Service."""
        svc: Services = request.app.state.svc
        try:
            async with asyncio.timeout(svc.settings.redis_timeout_s * 2):
                await svc.store.ping()
        except (*TRANSIENT, TimeoutError):
            return JSONResponse(
                {"status": "unavailable", "code": "store_unavailable",
                 "detail": "job store unavailable"},
                status_code=503, headers={"Retry-After": "2"},
            )
        return JSONResponse({"status": "ready"})

    @r.get("/metrics")
    async def prom() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return r


async def refresh_gauges(svc: Services, every_s: float = 5.0) -> None:
    """Queue depth, running jobs and Valkey memory: cheap reads, a few per minute."""
    while True:
        with contextlib.suppress(*TRANSIENT):
            depths = await svc.store.queue_depths()
            for prio, n in depths.items():
                metrics.QUEUE_DEPTH.labels(prio.value).set(n)
            metrics.JOBS_RUNNING.set(await svc.store.running_count())
            metrics.VALKEY_MEMORY.set(float(await svc.store.memory_used()))
        await asyncio.sleep(every_s)
