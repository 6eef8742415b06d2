"""/api/multi-agent/products/{product_id}/documents and /search over HTTP, against a
real `jobgate api` process on SQLite and on PostgreSQL (the shared `database_url`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey
from jobgate.history.db import open_url, upgrade_url
from tests.history.conftest import database_url, pg_server  # noqa: F401 — shared fixtures
from tests.history.test_search import MENTION, UNRELATED, WALKERS, result_row, upsert
from tests.server import Stack

MAX_BYTES = 4000
BASE = "/api/multi-agent/products/prod-1/documents"


@pytest.fixture
async def migrated(database_url: str) -> str:  # noqa: F811
    await upgrade_url(database_url)
    return database_url


@pytest.fixture
def api(valkey: EmbeddedValkey, migrated: str, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(valkey.url, f"docs-{uuid.uuid4().hex[:8]}", tmp_path / "stack",
              extra_env={"JOBGATE_DATABASE_URL": migrated,
                         "JOBGATE_MAX_DOCUMENT_BYTES": str(MAX_BYTES)})
    s.start_api()
    yield s
    s.stop()


def client(api: Stack, sub: str) -> httpx.Client:
    return httpx.Client(base_url=api.url, headers=api.headers(sub), timeout=30)


def test_a_users_documents_are_theirs_alone(api: Stack) -> None:
    with client(api, "alice") as alice, client(api, "bob") as bob:
        r = alice.post(BASE, json={"title": "Pricing", "content": "# Plans\n\nFrom 9 EUR.",
                                   "content_type": "text/markdown"})
        assert r.status_code == 201, r.text
        doc = r.json()
        assert r.headers["location"] == f"{BASE}/{doc['id']}"
        assert doc["size_bytes"] == 20 and doc["created_at"].endswith("+00:00")
        assert alice.get(r.headers["location"]).json()["content"] == "# Plans\n\nFrom 9 EUR."
        assert [d["id"] for d in alice.get(BASE).json()["documents"]] == [doc["id"]]

        assert bob.get(BASE).json() == {"documents": []}
        theirs = bob.get(f"{BASE}/{doc['id']}")
        unknown = bob.get(f"{BASE}/{uuid.uuid4()}")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()  # not a word about alice's document
        assert bob.delete(f"{BASE}/{doc['id']}").status_code == 404
        assert bob.delete(BASE).json() == {"deleted": 0}
        other_product = alice.get(f"/api/multi-agent/products/prod-2/documents/{doc['id']}")
        assert other_product.status_code == 404

        assert alice.delete(f"{BASE}/{doc['id']}").status_code == 204
        assert alice.get(f"{BASE}/{doc['id']}").status_code == 404
        assert alice.delete(f"{BASE}/{doc['id']}").status_code == 404
    with httpx.Client(base_url=api.url) as anonymous:
        assert anonymous.get(BASE).status_code == 401


def test_any_product_id_round_trips_through_location(api: Stack) -> None:
    """A control character, a space, `?`, `#` or `%` in the id: Location is
    percent-encoded (a raw one in a header would drop the connection). A `/`
    cannot be in a path segment at all (servers decode %2F before routing)."""
    with client(api, "alice") as c:
        for product in ("\x1d33\u00f2x", "a b?c#d%e", "ünï\u00e7ode"):
            path = f"/api/multi-agent/products/{quote(product, safe='')}/documents"
            r = c.post(path, json={"title": "T", "content": "text 𝄞"})
            assert r.status_code == 201, (product, r.text)
            assert r.headers["location"].isascii()
            got = c.get(r.headers["location"])
            assert got.status_code == 200 and got.json()["product_id"] == product


def test_size_and_shape_are_checked(api: Stack) -> None:
    with client(api, "alice") as c:
        big = c.post(BASE, json={"title": "Big", "content": "x" * (MAX_BYTES + 1)})
        assert big.status_code == 413
        assert big.json()["message"] == (
            f"the document is {MAX_BYTES + 1} bytes; the limit is {MAX_BYTES} "
            "(JOBGATE_MAX_DOCUMENT_BYTES)")
        fits = c.post(BASE, json={"title": "Fits", "content": "é" * (MAX_BYTES // 2)})
        assert fits.status_code == 201  # the limit is in UTF-8 bytes
        for body, needle in [
            ({"title": "Empty", "content": "  \n "}, "content is empty"),
            ({"title": "", "content": "text"}, "title"),
            ({"content": "text"}, "title"),
            ({"title": "T", "content": "text", "content_type": "application/pdf"},
             "content_type"),
            ({"title": "T", "content": "text", "extra": 1}, "extra"),
            ({"title": "T", "content": "a\u0000b"}, "NUL"),
        ]:
            r = c.post(BASE, json=body)
            assert r.status_code == 422, (body, r.text)
            assert needle in r.json()["message"], (body, r.json())
        lone = c.post(BASE, content=b'{"title": "T", "content": "\\ud800"}',
                      headers={"content-type": "application/json"})
        assert lone.status_code == 422 and "valid Unicode" in lone.json()["message"]
        plain = c.post(BASE, content=b"just text", headers={"content-type": "text/plain"})
        assert plain.status_code == 415
        too_long = c.get(f"/api/multi-agent/products/{'p' * 201}/documents")
        assert too_long.status_code == 422
        nul = c.get("/api/multi-agent/products/a%00b/documents")
        assert nul.status_code == 422 and "NUL" in nul.json()["message"]


async def test_search_ranks_documents_and_earlier_results(api: Stack, migrated: str) -> None:
    history = open_url(migrated)
    try:
        await upsert(history, [result_row("j-1", "Where do dog walkers work?",
                                          "Dog walkers work in Berlin parks.",
                                          product="prod-1")])
    finally:
        await history.close()
    with client(api, "alice") as alice, client(api, "bob") as bob:
        ids = {}
        for title, text in (("Walkers", WALKERS), ("About us", MENTION),
                            ("Revenue", UNRELATED)):
            ids[title] = alice.post(BASE, json={"title": title, "content": text}).json()["id"]
        bobs = bob.post(BASE, json={"title": "Bob's walkers", "content": WALKERS}).json()["id"]
        r = alice.get("/api/multi-agent/products/prod-1/search",
                      params={"q": "dog walkers", "limit": 10})
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]
        docs = [h["id"] for h in hits if h["source"] == "document"]
        assert docs == [ids["Walkers"], ids["About us"]]  # the more relevant first
        assert [h["id"] for h in hits if h["source"] == "result"] == ["j-1"]
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
        assert all("walker" in h["excerpt"].lower() for h in hits)
        assert "Bob" not in r.text
        theirs = bob.get("/api/multi-agent/products/prod-1/search", params={"q": "berlin parks"})
        assert [h["id"] for h in theirs.json()["hits"]] == [bobs]  # not alice's result
        assert alice.get("/api/multi-agent/products/prod-1/search").status_code == 422
