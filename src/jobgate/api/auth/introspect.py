"""The app's own opaque sessions, checked by asking the app who the caller is.

jobgate forwards the caller's `Authorization` header and the named cookies
to the app's "who am I" URL. A 200 JSON answer names the user; 401/403 mean
the session is not valid (401 here); anything else (the app down, a 5xx, a
timeout, an answer we cannot read) is a 503 with Retry-After, so a hiccup
of the app never signs its users out. Answers, yes or no, are cached by a
hash of what was forwarded, never the credential itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import httpx

from jobgate.api.auth.cache import TtlCache
from jobgate.api.auth.core import Credential, Principal, digest, principal_of
from jobgate.errors import AuthError, AuthUnavailable

log = logging.getLogger(__name__)

CACHE_MAX_ENTRIES = 10_000
REJECTED = "session not valid"
UNAVAILABLE = "sign-in service unavailable; retry shortly"


def dig(body: object, path: str) -> object:
    """The value at a dotted path (`id`, `user.id`) of a JSON object, or None."""
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def read_answer(status: int, body: object, sub_field: str) -> Principal | None:
    """The principal the app vouches for, None if it refuses the session,
    AuthUnavailable if its answer says nothing either way."""
    if status in (401, 403):
        return None
    if status != 200 or not isinstance(body, dict):
        raise AuthUnavailable(UNAVAILABLE)
    sub = dig(body, sub_field)
    if isinstance(sub, int) and not isinstance(sub, bool):
        sub = str(sub)  # apps often number their users
    try:
        return principal_of(sub, body.get("scope"), IntrospectMethod.name)
    except AuthError:
        return None  # e.g. `{"user": null}`: signed out


def forwarded_headers(credential: Credential, cookie_names: Sequence[str]) -> dict[str, str]:
    """What goes to the app: the Authorization header and the named cookies, nothing else."""
    headers: dict[str, str] = {}
    if credential.authorization.strip():
        headers["Authorization"] = credential.authorization.strip()
    pairs = [f"{n}={credential.cookies[n]}" for n in cookie_names if n in credential.cookies]
    if pairs:
        headers["Cookie"] = "; ".join(pairs)
    return headers


class IntrospectMethod:
    """Speaks for any credential left over: an opaque bearer token or a session cookie."""

    name = "introspect"

    def __init__(self, url: str, http: Callable[[], httpx.AsyncClient], *,
                 forward_cookies: Sequence[str] = (), sub_field: str = "id",
                 cache_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._http = http
        self._cookies = tuple(forward_cookies)
        self._sub_field = sub_field
        self._clock = clock
        self.cache: TtlCache[Principal | None] = TtlCache(cache_s, CACHE_MAX_ENTRIES)

    def recognises(self, credential: Credential) -> bool:
        return bool(forwarded_headers(credential, self._cookies))

    async def authenticate(self, credential: Credential) -> Principal:
        headers = forwarded_headers(credential, self._cookies)
        key = digest(headers.get("Authorization", ""), headers.get("Cookie", ""))
        found, principal = self.cache.get(key, self._clock())
        if not found:
            principal = await self._ask(headers)
            self.cache.put(key, principal, self._clock())
        if principal is None:
            raise AuthError(REJECTED)
        return principal

    async def _ask(self, headers: dict[str, str]) -> Principal | None:
        try:
            resp = await self._http().get(
                self.url, headers={**headers, "Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            log.warning("session introspection failed: %s", type(exc).__name__)
            raise AuthUnavailable(UNAVAILABLE) from None
        try:
            body: object = resp.json()
        except ValueError:
            body = None
        try:
            return read_answer(resp.status_code, body, self._sub_field)
        except AuthUnavailable:
            log.warning("session introspection answered HTTP %s", resp.status_code)
            raise
