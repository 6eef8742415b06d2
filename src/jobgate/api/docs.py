"""/docs (Swagger UI) and /redoc from files inside the package, not a CDN.

FastAPI's own pages load their scripts, a favicon and (ReDoc) fonts from
other hosts, so on a machine without internet they are blank. Here the same
pages point at the copies in `web/vendor/` (versions and checksums in its
`versions.json`). Only the files that manifest lists are served, under a
URL that carries the version, so they can be cached for good.

Each page also carries a Content-Security-Policy that lets it reach this
server only: a later version of either UI that reaches for another host is
stopped by the browser, not discovered by a user without internet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from jobgate.errors import ConfigError

VENDOR = Path(str(files("jobgate") / "web" / "vendor"))
ASSETS_PREFIX = "/docs/assets"
NO_ICON = "data:,"  # no favicon request at all, rather than one to another host
_IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# Both UIs set inline styles from their scripts; scripts, images, fonts and
# fetches stay on this origin (blob: for ReDoc's search worker).
_POLICY = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# ReDoc 2 always draws its vendor's logo in the sidebar from a CDN; offline
# that is a request to another host. Served with an empty image instead; the
# file on disk stays as published (its checksum is the upstream one).
_REWRITES: dict[tuple[str, str], tuple[bytes, bytes]] = {
    ("redoc", "redoc.standalone.js"): (
        b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'src:"data:,"'
    ),
}


@dataclass(frozen=True, slots=True)
class Vendored:
    """One vendored npm package: its folder under web/vendor/ and its files."""

    name: str
    version: str
    files: frozenset[str]

    def url(self, file: str) -> str:
        if file not in self.files:
            raise ConfigError(f"{file} is not among the vendored {self.name} files")
        return f"{ASSETS_PREFIX}/{self.name}@{self.version}/{file}"


def load_manifest(vendor: Path = VENDOR) -> dict[str, Vendored]:
    """What `versions.json` says is vendored, by folder name."""
    raw: dict[str, Any] = json.loads((vendor / "versions.json").read_text())
    return {
        name: Vendored(name, entry["version"], frozenset(entry["files"]))
        for name, entry in raw.items()
    }


def rewritten(name: str, file: str, vendor: Path = VENDOR) -> bytes | None:
    """The served bytes of a file that needs a rewrite; None for the others.

    The pattern must occur exactly once: a new version that moved it is a
    start-up error, to be looked at, not a silent request to a CDN.
    """
    rule = _REWRITES.get((name, file))
    if rule is None:
        return None
    old, new = rule
    data = (vendor / name / file).read_bytes()
    if data.count(old) != 1:
        raise ConfigError(f"vendored {name}/{file}: expected {old!r} once; update docs.py")
    return data.replace(old, new)


@dataclass(frozen=True, slots=True)
class Page:
    """A documentation page, built once, answered fresh per request."""

    html: str
    headers: dict[str, str]

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, headers=self.headers)


def with_policy(page: HTMLResponse) -> Page:
    """The page with a CSP allowing its own inline scripts by hash, nothing else."""
    html = bytes(page.body).decode()
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return Page(html, {
        "Content-Security-Policy": _POLICY.format(hashes=hashes),
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    })


def _asset_response(
    vendored: dict[str, Vendored], patched: dict[tuple[str, str], bytes], package: str, file: str
) -> Response:
    name, _, version = package.partition("@")
    found = vendored.get(name)
    if found is None or found.version != version or file not in found.files:
        raise HTTPException(404, "no such documentation asset")
    media = _MEDIA_TYPES.get(Path(file).suffix, "text/plain; charset=utf-8")
    headers = {"Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    body = patched.get((name, file))
    if body is not None:
        return Response(body, media_type=media, headers=headers)
    return FileResponse(VENDOR / name / file, media_type=media, headers=headers)


def router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """The two documentation pages and their assets (left out of the schema)."""
    vendored = load_manifest()
    swagger, redoc = vendored["swagger-ui"], vendored["redoc"]
    patched = {key: body for key in _REWRITES if (body := rewritten(*key)) is not None}
    swagger_page = with_policy(get_swagger_ui_html(
        openapi_url=openapi_url, title=f"{title} — API",
        swagger_js_url=swagger.url("swagger-ui-bundle.js"),
        swagger_css_url=swagger.url("swagger-ui.css"),
        swagger_favicon_url=NO_ICON,
    ))
    redoc_page = with_policy(get_redoc_html(
        openapi_url=openapi_url, title=f"{title} — API",
        redoc_js_url=redoc.url("redoc.standalone.js"),
        redoc_favicon_url=NO_ICON, with_google_fonts=False,
    ))
    r = APIRouter(include_in_schema=False)

    @r.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return swagger_page.response()

    @r.get("/redoc")
    async def redoc_ui() -> HTMLResponse:
        return redoc_page.response()

    @r.get(ASSETS_PREFIX + "/{package}/{file}")
    async def asset(package: str, file: str) -> Response:
        return _asset_response(vendored, patched, package, file)

    return r
