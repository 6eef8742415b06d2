"""The FastAPI application: routes, error mapping, limits, lifespan.

`create_app(settings, runtime)` opens nothing itself: its lifespan enters
the process's runtime (runtime.py: services, history, and for `jobgate up`
the in-process workers) and adds what only the API needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

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
from jobgate.history.db import ensure_schema
from jobgate.runtime import Runtime
from jobgate.settings import Settings

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


def create_app(
    settings: Settings, runtime: Callable[[], contextlib.AbstractAsyncContextManager[Runtime]]
) -> FastAPI:
    """`runtime` opens the process's services when the server starts the app
    (runtime.api_app); closing it stops any workers before the connections."""
    auth = Authenticator.from_settings(settings)  # ConfigError when no method is set

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime() as rt:
            app.state.runtime = rt  # for the stop signal (api/serving.py)
            app.state.svc = rt.svc
            app.state.history = rt.history  # reads beyond the TTL
            schema = asyncio.create_task(ensure_schema(rt.history, settings)) \
                if settings.database_auto_upgrade else None
            if schema is not None:  # a database that is down must not stop the API
                await asyncio.wait({schema}, timeout=settings.database_ready_wait_s)
            await auth.open()
            app.state.loop = asyncio.get_running_loop()  # for the stop signal
            rt.svc.notifier.start()
            rt.start()  # the archiver and the workers, where this process runs them
            gauges = asyncio.create_task(ops.refresh_gauges(rt.svc))
            log.info("api ready", extra={"worker": f"{len(rt.workers)} in-process workers"})
            try:
                yield
            finally:
                gauges.cancel()
                if schema is not None:
                    schema.cancel()
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
