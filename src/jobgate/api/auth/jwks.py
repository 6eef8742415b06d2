"""Asymmetric JWTs from an identity provider, checked against its JWKS.

Only RS256 and ES256 are accepted, each only with a key of its own type:
`alg: none`, HS256 "signed" with a public key and any other algorithm are
refused. Keys are cached; an unknown `kid` (the provider rotated) fetches the
set again, at most once per `min_refetch_s`, and known keys are refreshed
after `KEYS_MAX_AGE_S` so a withdrawn key stops working. When the provider
cannot be reached and the token cannot be checked, the answer is 503, never
a 401 that would sign the user out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx
import jwt

from jobgate.api.auth.core import Credential, Principal, jwt_alg, jwt_header, principal_of
from jobgate.errors import AuthError, AuthUnavailable

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
KEYS_MAX_AGE_S = 300.0
CLOCK_SKEW_S = 30.0
_CLAIM_ERRORS: dict[type[jwt.PyJWTError], str] = {
    jwt.ExpiredSignatureError: "token expired",
    jwt.InvalidIssuerError: "invalid token issuer",
    jwt.InvalidAudienceError: "invalid token audience",
    jwt.ImmatureSignatureError: "token not yet valid",
}


class Step(Enum):
    """What to do with the cached key set for the key a token names."""

    USE = "use"  # the cached key decides
    FETCH = "fetch"  # fetch the set; failing that, the token cannot be checked (503)
    REFRESH = "refresh"  # fetch the set; failing that, the cached key still decides
    UNKNOWN = "unknown"  # no such key, and too soon to ask again (401)
    UNAVAILABLE = "unavailable"  # the last fetch failed, too soon to ask again (503)


@dataclass
class FetchState:
    fetched_at: float | None = None  # last successful fetch
    tried_at: float | None = None  # last attempt, successful or not
    failed: bool = False  # whether the last attempt failed


def next_step(known: bool, state: FetchState, now: float, min_refetch_s: float) -> Step:
    """The pure rule for when to (re)fetch the provider's keys."""
    may_ask = state.tried_at is None or now - state.tried_at >= min_refetch_s
    if known:
        stale = state.fetched_at is not None and now - state.fetched_at >= KEYS_MAX_AGE_S
        return Step.REFRESH if stale and may_ask else Step.USE
    if may_ask:
        return Step.FETCH
    return Step.UNAVAILABLE if state.failed else Step.UNKNOWN


def usable_keys(document: object) -> dict[str, jwt.PyJWK]:
    """kid -> key for the signing keys of a JWKS document that we accept."""
    raw = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, jwt.PyJWK] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(item)
        except jwt.PyJWTError:
            continue
        if KEY_TYPES.get(key.algorithm_name) == key.key_type:
            keys[str(key.key_id or "")] = key
    return keys


class JwksKeys:
    """The provider's key set, fetched lazily and cached by `kid`."""

    def __init__(self, url: str, http: Callable[[], httpx.AsyncClient], *,
                 min_refetch_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._http = http
        self._min_refetch_s = min_refetch_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._state = FetchState()
        self._lock = asyncio.Lock()

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:  # a token without `kid`: only a one-key set is unambiguous
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _step(self, kid: str | None) -> tuple[jwt.PyJWK | None, Step]:
        key = self._lookup(kid)
        return key, next_step(key is not None, self._state, self._clock(), self._min_refetch_s)

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        key, step = self._step(kid)
        if step is Step.USE and key is not None:  # the common case takes no lock
            return key
        async with self._lock:  # one fetch serves every request waiting for it
            key, step = self._step(kid)  # another request may have fetched meanwhile
            if step in (Step.FETCH, Step.REFRESH):
                fetched = await self._fetch()
                if fetched:
                    key = self._lookup(kid)
                elif step is Step.FETCH:
                    raise AuthUnavailable("identity provider keys unavailable; retry shortly")
            elif step is Step.UNAVAILABLE:
                raise AuthUnavailable("identity provider keys unavailable; retry shortly")
        if key is None:
            raise AuthError("token signed with an unknown key")
        return key

    async def _fetch(self) -> bool:
        now = self._clock()
        self._state.tried_at = now
        try:
            resp = await self._http().get(self.url, headers={"Accept": "application/json"})
            keys = usable_keys(resp.json()) if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            keys = {}
        else:
            if not keys:
                log.warning("JWKS fetch gave no usable key (HTTP %s)", resp.status_code)
        self._state.failed = not keys
        if keys:
            self._keys = keys
            self._state.fetched_at = now
        return bool(keys)


class JwksMethod:
    """Speaks for every bearer JWT with an asymmetric (or unknown) algorithm.

    An HS* token is never its business: with JOBGATE_AUTH_SECRET the HS256
    method decides it, else it passes on (an app's own HS256 session may go to
    introspection). Either way this method never verifies with a shared secret.
    """

    name = "jwks"

    def __init__(self, keys: JwksKeys, *, issuer: str | None, audience: str | None) -> None:
        self.keys = keys
        self._issuer = issuer
        self._audience = audience

    def recognises(self, credential: Credential) -> bool:
        alg = jwt_alg(credential.bearer)
        return alg is not None and not alg.upper().startswith("HS")

    async def authenticate(self, credential: Credential) -> Principal:
        token = credential.bearer or ""
        header = jwt_header(token) or {}
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthError("token algorithm not accepted")
        kid = header.get("kid")
        key = await self.keys.key_for(kid if isinstance(kid, str) else None)
        if key.algorithm_name != alg:
            raise AuthError("token algorithm does not match its key")
        claims = self._decode(token, key, str(alg))
        return principal_of(claims.get("sub"), claims.get("scope"), self.name)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        required = ["exp", "sub"]
        required += ["iss"] if self._issuer else []
        required += ["aud"] if self._audience else []
        try:
            return jwt.decode(
                token, key.key, algorithms=[alg], issuer=self._issuer, audience=self._audience,
                leeway=CLOCK_SKEW_S,
                options={"require": required, "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(_CLAIM_ERRORS.get(type(exc), "invalid token")) from None
