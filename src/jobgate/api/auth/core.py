"""The pure core of sign-in: who a credential names, and which method decides.

A request's credential (its `Authorization` header and cookies) goes to the
configured methods in a fixed order; the first that recognises it decides:
it returns a `Principal` or raises `AuthError` (401) or `AuthUnavailable`
(503). No I/O here; the methods that need the network live beside this.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jobgate.errors import AuthError

ADMIN_SCOPE = "jobgate:admin"
MAX_SUB_LEN = 200
MAX_SCOPES = 100


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the owner of the jobs it submits, and its scopes."""

    user_id: str
    scopes: frozenset[str] = frozenset()
    method: str = ""

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


@dataclass(frozen=True)
class Credential:
    """What a request presents: its raw `Authorization` header and its cookies."""

    authorization: str = ""
    cookies: Mapping[str, str] = field(default_factory=dict)

    @property
    def bearer(self) -> str | None:
        """The token of a `Bearer` header, or None for any other scheme or none."""
        scheme, _, token = self.authorization.strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None


class Method(Protocol):
    """One way of signing in (HS256, JWKS, introspection)."""

    name: str

    def recognises(self, credential: Credential) -> bool:
        """Whether this method speaks for the credential (then it alone decides)."""
        ...

    async def authenticate(self, credential: Credential) -> Principal:
        """The principal, or AuthError / AuthUnavailable."""
        ...


def parse_cookies(headers: Iterable[str]) -> dict[str, str]:
    """Cookie name -> raw value, the first of each name; values kept as sent
    so they can be forwarded unchanged."""
    cookies: dict[str, str] = {}
    for header in headers:
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value
    return cookies


def jwt_header(token: str) -> dict[str, object] | None:
    """The unverified JOSE header of a compact JWT, or None if the token is not one."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[0]) > 2048:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    return header


def jwt_alg(token: str | None) -> str | None:
    """The `alg` a bearer JWT claims, or None for an opaque token."""
    header = jwt_header(token) if token else None
    return str(header["alg"]) if header else None


def parse_scopes(value: object) -> frozenset[str]:
    """A `scope` claim, as a space-separated string or a list of strings."""
    if isinstance(value, str):
        items: list[object] = list(value.split())
    elif isinstance(value, list):
        items = list(value)
    else:
        return frozenset()
    return frozenset(s for s in items[:MAX_SCOPES] if isinstance(s, str) and s)


def principal_of(sub: object, scope: object, method: str) -> Principal:
    """A principal from a subject and scopes someone vouched for; AuthError if no usable id."""
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_LEN:
        raise AuthError("invalid token subject")
    return Principal(sub, parse_scopes(scope), method)


def choose(methods: Sequence[Method], credential: Credential) -> Method:
    """The method that decides for this credential; AuthError when none will."""
    alg = jwt_alg(credential.bearer)
    if alg is not None and alg.lower() == "none":
        raise AuthError("unsigned token refused")
    for method in methods:
        if method.recognises(credential):
            return method
    raise AuthError("invalid token" if credential.authorization.strip() else "missing bearer token")


def digest(*parts: str) -> str:
    """A cache key for a credential: its hash, so the credential itself is never kept."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()
