"""Sign-in: who the caller is, by one of the configured methods.

    core.py           Principal, Credential, the pure choice of method
    hs256.py          HS256 JWTs with JOBGATE_AUTH_SECRET (`jobgate token`)
    jwks.py           RS256/ES256 JWTs from an identity provider's JWKS
    introspect.py     the app's opaque sessions, asked of its "who am I" URL
    cache.py          bounded TTL cache of introspection answers
    authenticator.py  the methods in order, built from Settings; their HTTP client
    deps.py           the FastAPI dependencies `Owner` and `CurrentPrincipal`
"""

from jobgate.api.auth.authenticator import Authenticator
from jobgate.api.auth.core import ADMIN_SCOPE, Credential, Principal
from jobgate.api.auth.deps import CurrentPrincipal, Owner, current_owner, current_principal
from jobgate.api.auth.hs256 import mint_token, verify_token

__all__ = [
    "ADMIN_SCOPE",
    "Authenticator",
    "Credential",
    "CurrentPrincipal",
    "Owner",
    "Principal",
    "current_owner",
    "current_principal",
    "mint_token",
    "verify_token",
]
