"""Typed dependencies of the endpoints: the services, the waiters, the job
kind, the history database, and the JSON body check.

Each is `async`: FastAPI runs a plain `def` dependency in a thread, a hop
per request that costs more than the work.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from jobgate.api.waiting import Waiters
from jobgate.errors import UnsupportedMediaType
from jobgate.history.db import History
from jobgate.services import Services
from jobgate.settings import Settings

NOT_JSON = "send the body as JSON with the header Content-Type: application/json"


@dataclass(frozen=True)
class JobKind:
    """How one kind of job enters the engine.

    An instance is its own dependency (`Depends(kind)`): the endpoints of a
    kind declare it in their signature, and a test may override it.
    """

    name: str
    prefix: str
    prepare: Callable[[Any, str, Request], dict[str, Any]]  # request, owner → payload
    estimate: Callable[[Any, Settings], float | None]

    async def __call__(self) -> JobKind:
        return self


async def services(request: Request) -> Services:
    svc: Services = request.app.state.svc
    return svc


async def waiters(request: Request) -> Waiters:
    w: Waiters = request.app.state.waiters
    return w


async def history(request: Request) -> History:
    """The history database (jobs Valkey has let go); opened by the app's lifespan."""
    h: History = request.app.state.history
    return h


Svc = Annotated[Services, Depends(services)]
Waiting = Annotated[Waiters, Depends(waiters)]
Hist = Annotated[History, Depends(history)]


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (`application/json`
    or `application/*+json`, parameters aside)."""
    if not content_type:
        return False
    parsed = email.message.Message()
    parsed["content-type"] = content_type
    subtype = parsed.get_content_subtype()
    return parsed.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def require_json(request: Request) -> None:
    """A body not declared as JSON is refused (415), never read as JSON.

    A cross-site form or text/plain post needs no CORS preflight; reading
    it as JSON would let any page submit jobs with a signed-in user's
    cookie. An empty body passes, to be answered as a missing body (422).
    """
    if is_json(request.headers.get("content-type")):
        return
    if await request.body():
        raise UnsupportedMediaType(NOT_JSON)
