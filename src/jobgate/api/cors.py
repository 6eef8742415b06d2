"""Cross-origin access for a frontend served from another origin than the API.

Only the origins in JOBGATE_CORS_ORIGINS (exact, never `*`): they get their
own origin back with credentials allowed, and may read `Location`,
`Retry-After` and `ETag`. Any other origin gets no
`Access-Control-Allow-Origin`, so the browser keeps the answer from its
script. With no origins configured there is no CORS at all.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from jobgate.settings import Settings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-LLM-API-Key")
EXPOSED = ("Location", "Retry-After", "ETag")
PREFLIGHT_MAX_AGE_S = 600


def add_cors(app: FastAPI, settings: Settings) -> None:
    """Add last, so it wraps everything: errors (401, 413, 503) carry the headers too."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=list(METHODS),
        allow_headers=list(HEADERS),
        expose_headers=list(EXPOSED),
        max_age=PREFLIGHT_MAX_AGE_S,
    )
