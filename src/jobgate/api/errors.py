"""The one place where errors become HTTP answers: JSON `{detail, code}`, never a 500 page."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jobgate.errors import (
    AuthError,
    AuthUnavailable,
    JobConflict,
    JobGateError,
    JobNotFound,
    RequestTooLarge,
    StoreUnavailable,
    TooManyActiveJobs,
)
from jobgate.store.connection import TRANSIENT

log = logging.getLogger(__name__)

STATUS: dict[type[JobGateError], int] = {
    AuthError: 401,
    JobNotFound: 404,
    JobConflict: 409,
    RequestTooLarge: 413,
    TooManyActiveJobs: 429,
    StoreUnavailable: 503,
    AuthUnavailable: 503,
}
RETRY_AFTER: dict[int, str] = {429: "5", 503: "2"}
NOT_FOUND_DETAIL = "job not found"


def error_response(status: int, detail: object, code: str) -> JSONResponse:
    headers = {}
    if status in RETRY_AFTER:
        headers["Retry-After"] = RETRY_AFTER[status]
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def _status_of(exc: JobGateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _jobgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobGateError)
    if isinstance(exc, JobNotFound):  # same body for unknown, malformed and others' ids
        return error_response(404, NOT_FOUND_DETAIL, exc.code)
    return error_response(_status_of(exc), str(exc), exc.code)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("Redis unavailable: %s", exc)
    return error_response(503, "job store unavailable; retry shortly", "store_unavailable")


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()[:20]
    ]
    return error_response(422, errors, "invalid_request")


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "JSON nested too deeply", "invalid_request")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI's answer to a body that is not UTF-8 JSON: malformed JSON is a 422 here
        return error_response(422, "request body is not valid UTF-8 JSON", "invalid_request")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, exc.detail, code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(JobGateError, _jobgate_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(StarletteHTTPException, _http)
    for exc_type in TRANSIENT:
        app.add_exception_handler(exc_type, _unavailable)
