"""HS256 JWTs signed with JOBGATE_AUTH_SECRET: the tokens `jobgate token` mints."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import jwt

from jobgate.api.auth.core import Credential, Principal, jwt_alg, principal_of
from jobgate.errors import AuthError

ALGORITHM = "HS256"


def mint_token(secret: str, sub: str, ttl_s: int = 30 * 86_400, *,
               scopes: Iterable[str] = ()) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl_s}
    scope = " ".join(scopes)
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """The token's principal, or AuthError for an expired or forged token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    return principal_of(claims.get("sub"), claims.get("scope"), "hs256")


class Hs256Method:
    """Speaks for bearer JWTs whose header says HS256; verifies with the shared secret."""

    name = "hs256"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def recognises(self, credential: Credential) -> bool:
        return jwt_alg(credential.bearer) == ALGORITHM

    async def authenticate(self, credential: Credential) -> Principal:
        return verify_token(self._secret, credential.bearer or "")
