"""Product documents on both databases: owner-scoped CRUD and the checks on what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobgate.errors import DocumentNotFound, InvalidRequest, RequestTooLarge
from jobgate.history import documents
from jobgate.history.db import History
from jobgate.history.documents import (
    add_document,
    check_document,
    delete_document,
    delete_documents,
    get_document,
    list_documents,
)

NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)


async def test_an_owner_adds_lists_reads_and_deletes(history: History) -> None:
    first = await add_document(history, "alice", "p1", "Pricing", "Plans start at 9 EUR.",
                               "text/plain", NOW)
    second = await add_document(history, "alice", "p1", "Notes", "# Héllo\n\nwörld",
                                "text/markdown", NOW + timedelta(seconds=1))
    assert len(first.id) == 36 and first.id != second.id
    listed = await list_documents(history, "alice", "p1")
    assert [d.id for d in listed] == [second.id, first.id]  # newest first
    assert listed[0].size_bytes == len("# Héllo\n\nwörld".encode()) == 16  # bytes, not chars
    assert listed[0].content is None and listed[0].content_type == "text/markdown"
    got = await get_document(history, "alice", "p1", first.id)
    assert (got.title, got.content, got.created_at) == ("Pricing", "Plans start at 9 EUR.", NOW)
    await delete_document(history, "alice", "p1", first.id)
    assert [d.id for d in await list_documents(history, "alice", "p1")] == [second.id]
    with pytest.raises(DocumentNotFound):
        await get_document(history, "alice", "p1", first.id)


async def test_another_user_or_product_sees_nothing(history: History) -> None:
    doc = await add_document(history, "alice", "p1", "Secret", "alice's plan", "text/plain", NOW)
    assert await list_documents(history, "bob", "p1") == []
    assert await list_documents(history, "alice", "p2") == []
    for owner, product in (("bob", "p1"), ("alice", "p2")):
        with pytest.raises(DocumentNotFound) as seen:
            await get_document(history, owner, product, doc.id)
        with pytest.raises(DocumentNotFound) as unknown:
            await get_document(history, owner, product, "no-such-id")
        assert str(seen.value) == str(unknown.value)  # the same answer
        with pytest.raises(DocumentNotFound):
            await delete_document(history, owner, product, doc.id)
    assert await delete_documents(history, "bob", "p1") == 0
    assert (await get_document(history, "alice", "p1", doc.id)).content == "alice's plan"


async def test_delete_all_of_a_product(history: History) -> None:
    for i in range(3):
        await add_document(history, "alice", "p1", f"d{i}", "text", "text/plain", NOW)
    await add_document(history, "alice", "p2", "other", "text", "text/plain", NOW)
    assert await delete_documents(history, "alice", "p1") == 3
    assert await list_documents(history, "alice", "p1") == []
    assert len(await list_documents(history, "alice", "p2")) == 1


async def test_a_product_holds_a_bounded_number_of_documents(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENTS_PER_PRODUCT", 2)
    for i in range(2):
        await add_document(history, "alice", "p1", f"d{i}", "text", "text/plain", NOW)
    with pytest.raises(InvalidRequest, match="already has 2 documents"):
        await add_document(history, "alice", "p1", "d3", "text", "text/plain", NOW)
    await add_document(history, "bob", "p1", "d0", "text", "text/plain", NOW)  # his own count


def test_checks_on_content() -> None:
    assert check_document("t", "ünï", 100) == 5
    with pytest.raises(InvalidRequest, match="content is empty"):
        check_document("t", " \n\t ", 100)
    with pytest.raises(InvalidRequest, match="NUL"):
        check_document("t", "a\x00b", 100)
    with pytest.raises(InvalidRequest, match="valid Unicode"):
        check_document("t", "lone \ud800 surrogate", 100)
    with pytest.raises(RequestTooLarge, match="101 bytes; the limit is 100"):
        check_document("t", "é" * 50 + "x", 100)
