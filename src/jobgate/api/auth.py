"""Bearer tokens: HS256 JWTs whose `sub` owns the jobs it submits."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from jobgate.errors import AuthError

ALGORITHM = "HS256"


def mint_token(secret: str, sub: str, ttl_s: int = 30 * 86_400) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> str:
    """The token's subject, or AuthError for a missing, expired or forged token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 200:
        raise AuthError("invalid token subject")
    return sub


async def current_owner(request: Request) -> str:
    """The token's subject. Async on purpose: FastAPI runs a plain `def`
    dependency in a thread, a hop per request that costs more than the check."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token")
    secret: str = request.app.state.settings.auth_secret
    return verify_token(secret, token.strip())


Owner = Annotated[str, Depends(current_owner)]
