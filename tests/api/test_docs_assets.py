"""/docs and /redoc are served from the package: no URL of another host in them.

The vendored files must be exactly what `versions.json` says (the npm
packages' files, unchanged, with their licences); the pages must name only
this server's URLs; only listed files are served. Rendering in Chromium
without a network is tests/browser/test_docs.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

from jobgate.api.docs import VENDOR, load_manifest, rewritten
from tests.server import Stack

MANIFEST = json.loads((VENDOR / "versions.json").read_text())
LICENCES = {"swagger-ui": {"LICENSE", "NOTICE"}, "redoc": {"LICENSE"}}
_URL_IN_PAGE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


def test_vendored_files_are_the_listed_ones_unchanged() -> None:
    for name, entry in MANIFEST.items():
        folder = VENDOR / name
        assert {p.name for p in folder.iterdir()} == set(entry["files"]), name
        for file, digest in entry["files"].items():
            assert hashlib.sha256((folder / file).read_bytes()).hexdigest() == digest, file
        assert LICENCES[name] <= set(entry["files"]), f"{name} ships without its licence"
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"])
        assert entry["integrity"].startswith("sha512-")


def test_the_readme_names_the_vendored_versions() -> None:
    readme = (VENDOR / "README.md").read_text()
    for entry in MANIFEST.values():
        assert f"`{entry['npm']}` | {entry['version']}" in readme


def page_urls(html: str) -> list[str]:
    return _URL_IN_PAGE.findall(html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_pages_name_no_other_host(api_stack: Stack, path: str) -> None:
    r = httpx.get(api_stack.url + path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = page_urls(r.text)
    assert urls, r.text  # the pattern must see the page's script and stylesheet
    for url in urls:
        assert url.startswith("/") or url.startswith("data:"), url
    assert "//" not in "".join(u for u in urls if not u.startswith("data:"))
    assert "fonts.googleapis" not in r.text and "cdn." not in r.text


def test_assets_are_served_with_their_type_and_cached_for_good(api_stack: Stack) -> None:
    for name, vendored in load_manifest().items():
        for file in vendored.files:
            r = httpx.get(api_stack.url + vendored.url(file))
            assert r.status_code == 200, (name, file)
            assert r.content == (rewritten(name, file) or (VENDOR / name / file).read_bytes())
            assert "immutable" in r.headers["cache-control"]
            expected = {".js": "text/javascript", ".css": "text/css"}.get(
                Path(file).suffix, "text/plain"
            )
            assert r.headers["content-type"].startswith(expected), (file, r.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/swagger-ui@0.0.1/swagger-ui-bundle.js",  # another version
        "/docs/assets/swagger-ui/swagger-ui-bundle.js",  # no version
        "/docs/assets/nothing@1.0.0/x.js",
        "/docs/assets/redoc@{redoc}/versions.json",  # beside the files, not listed
        "/docs/assets/redoc@{redoc}/..%2Fversions.json",
        "/docs/assets/redoc@{redoc}/%2E%2E%2F%2E%2E%2Fversions.json",
    ],
)
def test_only_listed_files_are_served(api_stack: Stack, path: str) -> None:
    path = path.replace("{redoc}", MANIFEST["redoc"]["version"])
    r = httpx.get(api_stack.url + path)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_the_openapi_document_is_where_the_pages_look(api_stack: Stack) -> None:
    docs = httpx.get(api_stack.url + "/docs").text
    assert "url: '/openapi.json'" in docs
    spec = httpx.get(api_stack.url + "/openapi.json").json()
    assert "/api/multi-agent/submit" in spec["paths"]
    assert not any(p.startswith("/docs") or p == "/redoc" for p in spec["paths"])


def test_the_redoc_bundle_is_served_without_its_cdn_logo() -> None:
    served = rewritten("redoc", "redoc.standalone.js")
    assert served is not None and b"cdn.redoc.ly" not in served
    on_disk = (VENDOR / "redoc" / "redoc.standalone.js").read_bytes()
    logo, empty = b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,"
    assert len(on_disk) - len(served) == len(logo) - len(empty)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_pages_carry_a_policy_that_keeps_them_on_this_server(api_stack: Stack, path: str) -> None:
    r = httpx.get(api_stack.url + path)
    policy = dict(
        d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'" and policy["img-src"] == "'self' data:"
    assert "unsafe" not in policy["script-src"] and "http" not in policy["script-src"]
    # Swagger UI's one inline script is allowed by its hash, and nothing else is.
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    allowed = [
        "sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        for s in inline
    ]
    assert policy["script-src"] == " ".join(["'self'", *(f"'{h}'" for h in allowed)])
    assert len(inline) == (1 if path == "/docs" else 0)
