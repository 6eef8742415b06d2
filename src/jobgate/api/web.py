"""The demo page, its assets and /config.js (the browser's runtime settings).

The old system pasted unescaped values into a <script> with sed. Here every
value is JSON-encoded and then made safe for a script element (`<`, `>`,
`&`, U+2028/2029 escaped), and numbers are parsed, not pasted.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from jobgate.settings import Settings

log = logging.getLogger(__name__)
WEB = files("jobgate") / "web"
DEFAULTS = {"poll_interval_ms": 5000, "max_poll_attempts": 120, "timeout_ms": 600_000}
# The console acts on every user's jobs: it talks to this server only, and no
# other site may frame it (a click on a hidden Cancel would be the operator's).
ADMIN_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _positive_int(raw: str, name: str, default: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if value <= 0:
        log.warning("%s=%r is not a positive integer; using %d", name, raw, default)
        return default
    return value


def browser_config(settings: Settings) -> dict[str, Any]:
    """The page's settings, parsed; a bad number falls back to its default."""
    poll = _positive_int(
        settings.job_poll_interval_ms, "JOB_POLL_INTERVAL_MS", DEFAULTS["poll_interval_ms"]
    )
    attempts = _positive_int(
        settings.job_max_poll_attempts, "JOB_MAX_POLL_ATTEMPTS", DEFAULTS["max_poll_attempts"]
    )
    timeout = _positive_int(settings.job_timeout_ms, "JOB_TIMEOUT_MS", DEFAULTS["timeout_ms"])
    if timeout < attempts * poll:
        log.warning(
            "JOB_TIMEOUT_MS=%d is shorter than JOB_MAX_POLL_ATTEMPTS × JOB_POLL_INTERVAL_MS "
            "= %d: the page gives up before its polling budget is spent", timeout, attempts * poll,
        )
    return {
        "__API_URL__": settings.api_url,
        "__JOB_POLL_INTERVAL_MS__": poll,
        "__JOB_MAX_POLL_ATTEMPTS__": attempts,
        "__JOB_TIMEOUT_MS__": timeout,
    }


def is_loopback(host: str) -> bool:
    """An address only this machine can reach (a name other than localhost is not trusted)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def demo_token_allowed(host: str, demo: bool) -> bool:
    """The demo token is a working credential: /config.js carries it only when
    `up` listens on loopback, or when `--demo` asks for it anyway."""
    return demo or is_loopback(host)


def script_safe_json(value: Any) -> str:
    """JSON that cannot end a <script> element or break a JS string."""
    text = json.dumps(value, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def config_js(values: dict[str, Any]) -> str:
    lines = [f"window.{k} = {script_safe_json(v)};" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def router(settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    values = browser_config(settings)
    if settings.demo_token:
        values["__JOBGATE_TOKEN__"] = settings.demo_token
    body = config_js(values)

    @r.get("/config.js")
    async def config(request: Request) -> Response:
        return Response(
            body, media_type="application/javascript",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    @r.get("/")
    async def index() -> HTMLResponse:
        page = WEB / "index.html"
        if not page.is_file():
            return HTMLResponse("<h1>jobgate</h1><p>The demo page is not built.</p>")
        return HTMLResponse(page.read_text(), headers={"Cache-Control": "no-cache"})

    @r.get("/admin")
    async def admin_console() -> HTMLResponse:
        """The operator console; its data comes from /api/admin with an operator's token."""
        return HTMLResponse((WEB / "admin.html").read_text(), headers=ADMIN_HEADERS)

    return r


def mount_assets(app: Any) -> None:
    assets = WEB / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=str(assets)), name="assets")
