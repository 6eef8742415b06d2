"""Full-text search of a product's documents and earlier results, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite

from jobgate.history.db import History
from jobgate.history.documents import add_document, delete_document
from jobgate.history.models import JobRow
from jobgate.history.search import (
    MAX_QUERY_TERMS,
    fts5_query,
    query_terms,
    search_documents,
    search_product,
    search_results,
    tsquery,
)

NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)

WALKERS = ("Dog walkers in Berlin. Our dog walkers book a walk within the hour; "
           "each walker is vetted and every dog gets a GPS-tracked walk.")
MENTION = ("Company history. We started as a cat-sitting service in 2019 and grew into "
           "pet care of every kind, with grooming, vets on call, and the odd dog walker. "
           "Offices in Hamburg and Munich; a small team of twelve.")
UNRELATED = "Quarterly revenue grew eleven percent, driven by enterprise contracts."


async def add(history: History, title: str, content: str, owner: str = "alice",
              product: str = "p1") -> str:
    return (await add_document(history, owner, product, title, content, "text/plain", NOW)).id


def result_row(job_id: str, query: str, response: str, *, owner: str = "alice",
               product: str | None = "p1", status: str = "completed",
               when: datetime = NOW) -> dict[str, Any]:
    return dict(
        job_id=job_id, kind="multi_agent", owner=owner, status=status, priority="normal",
        mode="collaborative", primary_agent="summary", product_id=product,
        request={"query": query, "context": {"product_id": product}},
        result={"response": response, "primary_agent": "summary"} if status == "completed"
        else None,
        error_code=None, error_detail=None, attempt=1, created_at=when, started_at=when,
        completed_at=when, queue_wait_s=0.0, run_time_s=1.0, archived_at=when,
    )


async def upsert(history: History, rows: list[dict[str, Any]]) -> None:
    """Insert or replace by job id, as the archiver does (re-archiving is an update)."""
    dialect = postgresql if history.dialect == "postgresql" else sqlite
    async with history.sessions.begin() as s:
        for row in rows:
            stmt = dialect.insert(JobRow).values(**row)
            stmt = stmt.on_conflict_do_update(
                index_elements=["job_id"],
                set_={k: stmt.excluded[k] for k in row if k != "job_id"})
            await s.execute(stmt)


async def test_the_more_relevant_document_comes_first(history: History) -> None:
    walkers = await add(history, "Walkers", WALKERS)
    mention = await add(history, "About us", MENTION)
    await add(history, "Revenue", UNRELATED)
    hits = await search_documents(history, "alice", "p1", "fast dog walkers near me")
    assert [h.id for h in hits] == [walkers, mention]
    assert hits[0].score > hits[1].score > 0
    assert hits[0].source == "document" and hits[0].title == "Walkers"
    assert "walk" in hits[0].excerpt.lower() and hits[0].text == ""  # excerpt, no full text
    assert not any(mark in hits[0].excerpt for mark in ("<b>", "</b>", "StopSel"))
    full = await search_documents(history, "alice", "p1", "dog walker", full=True)
    assert full[0].text == WALKERS


async def test_a_title_match_outweighs_a_body_match(history: History) -> None:
    body = await add(history, "Notes", "Some notes that mention onboarding once, among others.")
    title = await add(history, "Onboarding", "Some notes that say how the first week goes, "
                                             "among others.")
    hits = await search_documents(history, "alice", "p1", "onboarding")
    assert [h.id for h in hits] == [title, body]


async def test_search_is_scoped_to_owner_and_product(history: History) -> None:
    await add(history, "Walkers", WALKERS, owner="bob")
    await add(history, "Walkers", WALKERS, product="p2")
    mine = await add(history, "Mine", MENTION)
    assert [h.id for h in await search_documents(history, "alice", "p1", "dog walker")] == [mine]
    assert await search_documents(history, "carol", "p1", "dog walker") == []


async def test_a_deleted_document_is_no_longer_found(history: History) -> None:
    doc = await add(history, "Walkers", WALKERS)
    assert await search_documents(history, "alice", "p1", "walker")
    await delete_document(history, "alice", "p1", doc)
    assert await search_documents(history, "alice", "p1", "walker") == []


async def test_nothing_to_search_for(history: History) -> None:
    await add(history, "Walkers", WALKERS)
    assert await search_documents(history, "alice", "p1", "the of and is") == []
    assert await search_documents(history, "alice", "p1", "") == []
    assert await search_documents(history, "alice", "p1", "zebra") == []


@pytest.mark.parametrize("query", ['"dog" OR', "walk* NEAR(dog)", "dog:1 & !cat | (",
                                   "title:dog", "'; DROP TABLE jobgate_documents; --"])
async def test_query_syntax_is_never_passed_through(history: History, query: str) -> None:
    await add(history, "Walkers", WALKERS)
    hits = await search_documents(history, "alice", "p1", query)
    assert all(h.title == "Walkers" for h in hits)


async def test_earlier_completed_results_are_searchable(history: History) -> None:
    await upsert(history, [
        result_row("j-walk", "How do we price dog walks?",
                   "Price dog walks at 15 EUR for 30 minutes; walkers keep 80 percent."),
        result_row("j-cat", "Cat sitting plan", "Cat sitters visit twice a day."),
        result_row("j-failed", "dog walks", "", status="failed"),
        result_row("j-bob", "dog walks", "Bob's dog walk pricing.", owner="bob"),
        result_row("j-other", "dog walks", "Other product's dog walks.", product="p2"),
        result_row("j-none", "dog walks", "No product at all.", product=None),
    ])
    hits = await search_results(history, "alice", "p1", "dog walk price")
    assert [h.id for h in hits] == ["j-walk"]
    assert hits[0].source == "result" and hits[0].title == "How do we price dog walks?"
    assert "15 EUR" in hits[0].excerpt
    full = await search_results(history, "alice", "p1", "dog walk", full=True)
    assert full[0].text.startswith("Price dog walks at 15 EUR")


async def test_results_follow_updates_and_deletes(history: History) -> None:
    row = result_row("j1", "Launch plan", "Launch in Berlin first.")
    await upsert(history, [row])
    await upsert(history, [row])  # archived twice: still one hit
    assert [h.id for h in await search_results(history, "alice", "p1", "berlin")] == ["j1"]
    await upsert(history, [{**row, "result": {"response": "Launch in Vienna first."}}])
    assert await search_results(history, "alice", "p1", "berlin") == []
    assert [h.id for h in await search_results(history, "alice", "p1", "vienna")] == ["j1"]
    async with history.sessions.begin() as s:
        await s.execute(update(JobRow).where(JobRow.job_id == "j1").values(product_id="p9"))
    assert await search_results(history, "alice", "p1", "vienna") == []
    assert [h.id for h in await search_results(history, "alice", "p9", "vienna")] == ["j1"]
    async with history.sessions.begin() as s:  # pruning
        await s.execute(delete(JobRow).where(JobRow.job_id == "j1"))
    assert await search_results(history, "alice", "p9", "vienna") == []


async def test_documents_and_results_together_best_first(history: History) -> None:
    doc = await add(history, "Walkers", WALKERS)
    await upsert(history, [result_row("j1", "Revenue", "Revenue from dog walks in Berlin.",
                                      when=NOW - timedelta(days=1))])
    hits = await search_product(history, "alice", "p1", "dog walkers berlin")
    assert {(h.source, h.id) for h in hits} == {("document", doc), ("result", "j1")}
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert len(await search_product(history, "alice", "p1", "dog", limit=1)) == 1


def test_query_terms_and_both_syntaxes() -> None:
    assert query_terms("The walkers, the DOGS and the walkers!") == ["walker", "dog"]
    assert tsquery(["walker", "dog"]) == "walker | dog"
    assert fts5_query(["walker", "dog"]) == '"walker" OR "dog"'
    assert query_terms('"x" OR y* -- NEAR(z)') == ["x", "y", "near", "z"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(500)))) == MAX_QUERY_TERMS


async def test_the_archivers_own_upserts_keep_results_searchable(history: History) -> None:
    """Through `repo.upsert_jobs`, the statement the archiver runs (a batch, twice)."""
    from jobgate.history import repo

    rows = [(result_row(f"j{i}", f"question {i}", f"Answer about walkers number {i}."),
             ["summary"]) for i in range(3)]
    await repo.upsert_jobs(history, rows)
    await repo.upsert_jobs(history, rows)  # a batch archived again
    hits = await search_results(history, "alice", "p1", "walkers")
    assert sorted(h.id for h in hits) == ["j0", "j1", "j2"]
