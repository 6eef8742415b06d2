"""The FastAPI application: routes, error mapping, limits, lifespan.

`create_app(settings, workers=N)` also runs N in-process workers (for
`jobgate up`); in Kubernetes the API runs with none and workers apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobgate import __version__, metrics
from jobgate.api import admin, docs, errors, multi_agent, ops, web
from jobgate.api.auth import Authenticator
from jobgate.api.connections import Connections, TransportProbe
from jobgate.api.cors import add_cors
from jobgate.api.documents import router as documents_router
from jobgate.api.limits import BodyLimit
from jobgate.api.stats import router as stats_router
from jobgate.api.waiting import Waiters
from jobgate.handlers import registry
from jobgate.history.archiver import Archiver
from jobgate.history.db import ensure_schema, open_history
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.worker import Worker

log = logging.getLogger(__name__)


class _RequestMetrics:
    """Counts requests by route template (not raw path: ids would explode labels).

    Pure ASGI: it only watches the status go by, so long-polls and SSE
    streams pass through without the extra task and buffering of
    BaseHTTPMiddleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            # The router records the route it chose in the scope (the template,
            # with its `{job_id}`); nested routers mean a walk over routes can't.
            matched = scope.get("route")
            route = getattr(matched, "path_format", None) or getattr(matched, "path", "unmatched")
            metrics.http_requests(route, scope["method"], status).inc()


def create_app(settings: Settings, *, workers: int = 0, concurrency: int | None = None) -> FastAPI:
    auth = Authenticator.from_settings(settings)  # ConfigError when no method is set

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        per_worker = concurrency or settings.worker_concurrency
        svc = await Services.open(settings, workers_concurrency=workers * per_worker)
        app.state.svc = svc
        app.state.history = history = open_history(settings)  # reads beyond the TTL
        schema = asyncio.create_task(ensure_schema(history, settings)) \
            if settings.database_auto_upgrade else None
        if schema is not None:  # a database that is down must not stop the API
            await asyncio.wait({schema}, timeout=settings.database_ready_wait_s)
        archiver = Archiver(svc.store, settings, history) if workers else None
        if archiver is not None:  # where workers run, terminal jobs are archived
            archiver.start()
        await auth.open()
        app.state.loop = asyncio.get_running_loop()  # for the shutdown signal (cli.py)
        svc.notifier.start()
        pool = [
            Worker(svc.store, registry(settings, history), settings, concurrency=concurrency)
            for _ in range(workers)
        ]
        tasks = [asyncio.create_task(w.run(), name=f"worker-{i}") for i, w in enumerate(pool)]
        gauges = asyncio.create_task(ops.refresh_gauges(svc))
        app.state.workers = pool
        log.info("api ready", extra={"worker": f"{workers} in-process workers"})
        try:
            yield
        finally:
            gauges.cancel()
            for w in pool:
                w.request_stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            if archiver is not None:
                await archiver.stop()
            if schema is not None:
                schema.cancel()
            await svc.close()
            await history.close()
            await auth.aclose()

    app = FastAPI(
        title="jobgate",
        version=__version__,
        summary="Async jobs for long-running AI requests: submit, then poll, long-poll or stream.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from api/docs.py, with packaged assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.auth = auth
    app.state.waiters = Waiters()
    app.state.connections = Connections(settings.ws_max_sockets_per_user)  # /ws, /events
    app.state.started = time.time()
    errors.install(app)
    app.include_router(multi_agent.router())
    app.include_router(admin.router())
    app.include_router(stats_router())
    app.include_router(documents_router())
    app.include_router(ops.router())
    app.include_router(web.router(settings))
    app.include_router(docs.router(app.title, app.openapi_url or "/openapi.json"))
    web.mount_assets(app)
    app.add_middleware(_RequestMetrics)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(errors.MiddlewareErrors)  # maps what BodyLimit raises
    add_cors(app, settings)  # outermost: error answers carry CORS headers too
    app.add_middleware(TransportProbe)  # sees the server's own `send` (api/connections.py)
    return app
