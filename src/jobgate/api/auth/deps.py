"""FastAPI dependencies: the caller as a `Principal`, or just its user id (`Owner`).

Async on purpose: FastAPI runs a plain `def` dependency in a thread, a hop
per request that costs more than the check. Both resolve to one sign-in per
request (FastAPI caches a dependency within a request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from jobgate.api.auth.authenticator import Authenticator
from jobgate.api.auth.core import Credential, Principal, parse_cookies


def credential_of(request: HTTPConnection) -> Credential:
    return Credential(
        authorization=request.headers.get("authorization", ""),
        cookies=parse_cookies(request.headers.getlist("cookie")),
    )


async def current_principal(request: HTTPConnection) -> Principal:
    """Also for WebSocket routes (an HTTPConnection, not a Request)."""
    auth: Authenticator = request.app.state.auth
    return await auth.authenticate(credential_of(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_owner(principal: CurrentPrincipal) -> str:
    """The caller's user id: the owner of every job it submits or reads."""
    return principal.user_id


Owner = Annotated[str, Depends(current_owner)]
