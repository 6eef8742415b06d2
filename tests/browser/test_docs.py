"""/docs and /redoc render in Chromium with no network but the server's own.

Every request the page makes is seen by a route handler: those to the
jobgate server go through, anything else is refused and recorded, and the
test asserts that nothing was. The page must then show the API's endpoints,
which needs its script, its stylesheet and /openapi.json to have loaded
from the server itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

ENDPOINTS = (
    "/api/multi-agent/submit",
    "/api/multi-agent/jobs/{job_id}/status",
    "/api/multi-agent/jobs/{job_id}/result",
    "/api/multi-agent/process",
)

WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@dataclass
class Offline:
    """A page whose only reachable origin is the jobgate server."""

    page: Any
    origin: str
    served: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        """What the page's Content-Security-Policy stopped (an attempt all the same)."""
        found: list[str] = self.page.evaluate("window.__violations")
        return found

    def assert_stayed_home(self) -> None:
        assert self.refused == []
        assert self.violations() == []
        assert self.errors == []
        assert self.console == []

    def route(self, route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            self.served.append(parts.path)
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline(browser: Any, server: Server) -> Iterator[Offline]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    state = Offline(page, server.url)
    context.route("**/*", state.route)
    page.on("pageerror", lambda e: state.errors.append(str(e)))
    page.on("console", lambda m: state.console.append(m.text) if m.type == "error" else None)
    page.add_init_script(WATCH_POLICY)
    page.set_default_timeout(30_000)
    yield state
    context.close()


def test_swagger_ui_lists_the_endpoints_offline(
    offline: Offline, server: Server, artifacts: Any
) -> None:
    page = offline.page
    page.goto(server.url + "/docs")
    for path in ENDPOINTS:
        expect(page.locator(".opblock-summary-path", has_text=path).first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("jobgate")
    page.screenshot(path=str(artifacts / "docs-swagger-offline.png"))

    offline.assert_stayed_home()
    assert "/openapi.json" in offline.served
    assert any(p.endswith("/swagger-ui-bundle.js") for p in offline.served)
    assert any(p.endswith("/swagger-ui.css") for p in offline.served)
    # The stylesheet applied: Swagger UI's own rules lay the operations out.
    display = page.locator(".opblock-summary").first.evaluate("e => getComputedStyle(e).display")
    assert display == "flex"


def test_redoc_lists_the_endpoints_offline(
    offline: Offline, server: Server, artifacts: Any
) -> None:
    page = offline.page
    page.goto(server.url + "/redoc")
    for path in ENDPOINTS:
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    expect(page.locator("h1").first).to_contain_text("jobgate")
    page.screenshot(path=str(artifacts / "docs-redoc-offline.png"))

    offline.assert_stayed_home()
    assert "/openapi.json" in offline.served
    assert any(p.endswith("/redoc.standalone.js") for p in offline.served)


def test_the_guards_would_see_a_request_to_another_host(offline: Offline, server: Server) -> None:
    """The two tests above can fail: each guard sees a request elsewhere.

    127.0.0.2 is another origin on the loopback range: nothing leaves the machine.
    """
    page = offline.page
    probe = "() => fetch('http://127.0.0.2:9/probe').then(() => 'loaded', () => 'refused')"
    page.goto(server.url + "/docs")  # its policy stops the request in the page
    assert page.evaluate(probe) == "refused"
    assert offline.violations() == ["connect-src http://127.0.0.2:9/probe"]
    page.goto(server.url + "/healthz")  # no policy: the route handler refuses it
    assert page.evaluate(probe) == "refused"
    assert offline.refused == ["http://127.0.0.2:9/probe"]


def test_the_demo_page_keeps_its_own_policy(offline: Offline, server: Server) -> None:
    """The docs pages need an inline script; the demo page still allows none."""
    page = offline.page
    page.goto(server.url + "/")
    policy = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert policy is not None and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "cdn" not in policy
