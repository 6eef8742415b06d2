"""The configured sign-in methods, in their fixed order, and their HTTP client.

Built from `Settings` when the app is made (a bad or empty configuration
stops the start); the HTTP client lives as long as the app (its lifespan
opens and closes it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from jobgate import __version__
from jobgate.api.auth.core import Credential, Method, Principal, choose
from jobgate.api.auth.hs256 import Hs256Method
from jobgate.api.auth.introspect import IntrospectMethod
from jobgate.api.auth.jwks import JwksKeys, JwksMethod
from jobgate.errors import AuthUnavailable, ConfigError
from jobgate.settings import Settings

log = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, methods: Sequence[Method], *, timeout_s: float = 5.0) -> None:
        self.methods = tuple(methods)
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        auth = cls((), timeout_s=settings.auth_timeout_s)
        auth.methods = tuple(_methods(settings, auth))
        if not auth.methods:
            raise ConfigError(
                "no sign-in method is configured: set JOBGATE_AUTH_SECRET, "
                "JOBGATE_AUTH_JWKS_URL or JOBGATE_AUTH_INTROSPECT_URL"
            )
        log.info("sign-in methods: %s", ", ".join(m.name for m in auth.methods))
        return auth

    async def open(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout_s, follow_redirects=False,
                headers={"User-Agent": f"jobgate/{__version__}"},
            )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise AuthUnavailable("sign-in client not started")
        return self._client

    async def authenticate(self, credential: Credential) -> Principal:
        """The first method that recognises the credential decides."""
        return await choose(self.methods, credential).authenticate(credential)


def _methods(settings: Settings, auth: Authenticator) -> list[Method]:
    methods: list[Method] = []
    if settings.auth_secret:
        methods.append(Hs256Method(settings.auth_secret))
    if settings.auth_jwks_url:
        _require_http("JOBGATE_AUTH_JWKS_URL", settings.auth_jwks_url)
        if not settings.auth_issuer:
            raise ConfigError("JOBGATE_AUTH_JWKS_URL needs JOBGATE_AUTH_ISSUER")
        if not settings.auth_audience:
            log.warning("JOBGATE_AUTH_AUDIENCE unset: tokens for any audience of the issuer pass")
        keys = JwksKeys(settings.auth_jwks_url, auth.http,
                        min_refetch_s=settings.auth_jwks_min_refetch_s)
        methods.append(JwksMethod(keys, issuer=settings.auth_issuer,
                                  audience=settings.auth_audience))
    if settings.auth_introspect_url:
        _require_http("JOBGATE_AUTH_INTROSPECT_URL", settings.auth_introspect_url)
        methods.append(IntrospectMethod(
            settings.auth_introspect_url, auth.http,
            forward_cookies=settings.auth_forward_cookies,
            sub_field=settings.auth_introspect_sub_field, cache_s=settings.auth_cache_s,
        ))
    return methods


def _require_http(name: str, url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL")
