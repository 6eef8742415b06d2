"""The one place where errors become HTTP answers, never a 500 page.

Every error body is JSON `{detail, code, message}`: `detail` as before (a
string, or FastAPI's `{loc, msg, type}` list for a 422), `message` one
readable string a client can show as it is (the old app's client throws
`detail || message`, and an array `detail` would show as "[object Object]").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobgate.api.messages import validation_message
from jobgate.errors import (
    AuthError,
    AuthUnavailable,
    DocumentNotFound,
    Forbidden,
    InvalidRequest,
    JobCancelled,
    JobConflict,
    JobEnded,
    JobFailed,
    JobGateError,
    JobNotFound,
    RequestTooLarge,
    StoreUnavailable,
    TooManyActiveJobs,
    UnsupportedMediaType,
)
from jobgate.store.connection import TRANSIENT

log = logging.getLogger(__name__)

STATUS: dict[type[JobGateError], int] = {
    AuthError: 401,
    Forbidden: 403,
    JobNotFound: 404,
    DocumentNotFound: 404,
    JobConflict: 409,
    JobCancelled: 409,
    RequestTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidRequest: 422,
    TooManyActiveJobs: 429,
    JobFailed: 502,
    StoreUnavailable: 503,
    AuthUnavailable: 503,
}
RETRY_AFTER: dict[int, str] = {429: "5", 503: "2"}
NOT_FOUND_DETAIL = "job not found"
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class ErrorJSON(JSONResponse):
    """JSON escaped to ASCII: an error may quote the client's own input, and
    a lone surrogate in it must not turn the answer into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def error_response(
    status: int, detail: object, code: str, message: str | None = None,
    *, headers: Mapping[str, str] | None = None, **extra: str,
) -> JSONResponse:
    """The error body every answer shares, with the headers its status calls for."""
    out = dict(headers or {})
    if status in RETRY_AFTER:
        out.setdefault("Retry-After", RETRY_AFTER[status])
    if status == 401:
        out.setdefault("WWW-Authenticate", "Bearer")
    if status == 413:  # the rest of the body is not read: the connection cannot go on
        out["Connection"] = "close"
    text = message if message is not None else detail if isinstance(detail, str) else code
    body = {"detail": detail, "code": code, "message": text, **extra}
    return ErrorJSON(body, status_code=status, headers=out)


def status_of(exc: JobGateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def response_for(exc: JobGateError) -> JSONResponse:
    """The answer for one of the project's exceptions."""
    if isinstance(exc, JobNotFound):  # same body for unknown, malformed and others' ids
        return error_response(404, NOT_FOUND_DETAIL, exc.code)
    if isinstance(exc, JobEnded):
        return error_response(status_of(exc), str(exc), exc.code, job_id=exc.job_id)
    return error_response(status_of(exc), str(exc), exc.code)


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route takes at this path (the router names only the
    first route it found). Each route is asked with the method swapped, so
    nested routers need no walking; a mount (static files) takes GET and HEAD."""
    found: set[str] = set()
    # inside a mount the scope's root_path is the mount's; the app's is kept apart
    root = scope.get("app_root_path", scope.get("root_path", ""))
    for route in routes:
        for method in _METHOD_ORDER:
            probe = {"type": "http", "path": scope["path"], "root_path": root,
                     "method": method, "headers": [], "query_string": b""}
            if route.matches(probe)[0] is Match.FULL:
                found |= {"GET", "HEAD"} if isinstance(route, Mount) else {method}
    return sorted(found, key=_METHOD_ORDER.index)


async def _jobgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobGateError)
    return response_for(exc)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("Redis unavailable: %s", exc)
    return response_for(StoreUnavailable("job store unavailable; retry shortly"))


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = list(exc.errors())
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in found[:20]
    ]
    return error_response(422, errors, "invalid_request", validation_message(found))


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "JSON nested too deeply", "invalid_request")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI's answer to a body that is not UTF-8 JSON: malformed JSON is a 422 here
        return error_response(422, "request body is not valid UTF-8 JSON", "invalid_request")
    if exc.status_code == 405:
        allow = allowed_methods(request.app.router.routes, request.scope)
        accepts = f"; this path accepts {', '.join(allow)}" if allow else ""
        return error_response(
            405, exc.detail, "method_not_allowed", f"{where} is not allowed{accepts}",
            headers={**(exc.headers or {}), "Allow": ", ".join(allow)},
        )
    if exc.status_code == 404:
        return error_response(404, exc.detail, "not_found", f"no such endpoint: {where}")
    return error_response(exc.status_code, exc.detail, "http_error", headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: JSON like every other answer, and nothing of the bug in it (uvicorn logs it)."""
    return error_response(500, "internal error", "internal_error",
                          "the server failed on this request; it has been logged")


class MiddlewareErrors:
    """Answers for a project exception that an ASGI middleware raised before
    any response began (the body limit, say): FastAPI's handlers sit inside
    the middleware and never see those."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except JobGateError as exc:
            if started or scope["type"] != "http":
                raise
            await response_for(exc)(scope, receive, send)


async def _redis_error(request: Request, exc: Exception) -> JSONResponse:
    """A Redis error nobody foresaw (a script's error, a failover's answer):
    the store is not serving this request now, so 503 with a JSON body, never
    a bare 500."""
    log.error("unexpected Redis error: %r", exc)
    return response_for(StoreUnavailable("job store unavailable; retry shortly"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(JobGateError, _jobgate_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(Exception, _unexpected)
    for exc_type in TRANSIENT:
        app.add_exception_handler(exc_type, _unavailable)
