"""Where the rag agent's documents come from, and how its findings read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.ranking import Document
from jobgate.agents.retrieval import (
    BM25Retriever,
    RequestDocuments,
    Retrieval,
    documents_from_context,
    nothing_found,
    passages_block,
    sources_note,
)


def ids(context: dict[str, Any] | None) -> list[str]:
    return [d.id for d in documents_from_context(context)]


def test_listed_documents_in_every_accepted_shape() -> None:
    docs = documents_from_context({"documents": [
        {"id": "interviews", "title": "Owner interviews", "text": "They pay per walk."},
        {"id": 7, "name": "Notes", "content": "Content is accepted as well."},
        "A bare string is a document too.",
        {"title": "no id", "text": "cited by position"},
        {"id": "empty", "text": "   "},
        {"id": "no-text", "title": "nothing"},
        {"id": True, "text": "a boolean is not an id"},
        42,
    ]})
    assert [(d.id, d.title) for d in docs] == [
        ("interviews", "Owner interviews"),
        ("7", "Notes"),
        ("documents[2]", None),
        ("documents[3]", "no id"),
        ("documents[6]", None),
    ]
    assert docs[1].text == "Content is accepted as well."
    mapped = documents_from_context({"documents": {
        "faq": "Walkers are insured.", "spec": {"title": "Spec", "text": "Two screens."},
        "bad": {"text": 3},
    }})
    assert [(d.id, d.title, d.text) for d in mapped] == [
        ("faq", None, "Walkers are insured."), ("spec", "Spec", "Two screens."),
    ]


def test_form_data_strings_are_documents_cited_by_path() -> None:
    context = {
        "product_id": "prod-1",
        "phase_id": "phase-2",
        "phase_name": "Market Research",
        "form_data": {
            "target_users": "busy urban dog owners",
            "segment": "b2c",
            "budget": 5000,
            "features": ["live GPS tracking", {"detail": "photo report after each walk"}],
            "blank": " ",
        },
    }
    docs = documents_from_context(context)
    assert [(d.id, d.title) for d in docs] == [
        ("form_data.target_users", "target users"),
        ("form_data.segment", "segment"),
        ("form_data.features[0]", "features"),
        ("form_data.features[1].detail", "detail"),
    ]


def test_other_context_text_counts_only_when_it_reads_as_text() -> None:
    context = {
        "product_id": "prod-1",
        "phase_name": "Ideation Phase",
        "notes": "Customers asked twice for a cheaper weekday plan.",
        "history": [{"role": "user", "content": "what do walkers earn per hour?"}],
        "count": 3,
    }
    assert ids(context) == ["context.notes", "context.history[0].content"]
    assert ids(None) == [] and ids({}) == []


async def test_request_source_and_bm25_retriever_find_the_relevant_passage() -> None:
    request = MultiAgentRequest.model_validate({
        "query": "How much do owners pay per walk?",
        "context": {"documents": [
            {"id": "weather", "text": "Rain lowers demand in November."},
            {"id": "pricing", "text": "Owners pay 15 to 25 EUR per walk."},
        ]},
    })
    assert [d.id for d in await RequestDocuments().documents(request)] == ["weather", "pricing"]
    found = await BM25Retriever().retrieve(request, request.query)
    assert found.found and found.documents == 2 and found.sources == ("request",)
    assert [p.document_id for p in found.passages] == ["pricing"]
    assert found.summary()["passages"][0] == {
        "ref": 1, "document_id": "pricing", "title": None, "chunk": 0,
        "score": found.passages[0].score, "excerpt": "Owners pay 15 to 25 EUR per walk.",
    }


class StoredDocuments:
    """A second source, as issue 16's product store will be: its own id prefix."""

    name = "product"

    async def documents(self, request: MultiAgentRequest) -> Sequence[Document]:
        return [Document(f"product:{request.product_id}:faq", "Walkers are insured by us.")]


async def test_retrieval_is_pluggable_with_more_sources() -> None:
    request = MultiAgentRequest.model_validate({
        "query": "Are walkers insured?", "product_id": "p9",
        "context": {"documents": ["Owners pay per walk."]},
    })
    retriever = BM25Retriever([RequestDocuments(), StoredDocuments()], limit=3)
    found = await retriever.retrieve(request, request.query)
    assert found.documents == 2 and found.sources == ("request", "product")
    assert [p.document_id for p in found.passages] == ["product:p9:faq"]
    alone = await BM25Retriever([StoredDocuments()]).retrieve(request, "pricing")
    assert not alone.found and alone.documents == 1


@pytest.mark.parametrize(
    ("documents", "phrase"),
    [
        (0, "No relevant passages found in the 0 documents provided"),
        (1, "No relevant passages found in the 1 document provided"),
        (4, "No relevant passages found in the 4 documents provided"),
    ],
)
def test_nothing_found_is_said_plainly(documents: int, phrase: str) -> None:
    text = nothing_found(Retrieval("a query", documents, ()))
    assert text.startswith(f"{phrase} for “a query”.")
    assert ("context.documents" in text) == (documents == 0)
    assert passages_block(Retrieval("q", documents, ()), "Heading:").endswith(
        nothing_found(Retrieval("q", documents, ()))
    )


async def test_passages_are_numbered_in_prompts_and_cited_in_the_note() -> None:
    request = MultiAgentRequest.model_validate({
        "query": "walker insurance",
        "context": {"documents": [
            {"id": "a", "title": "Safety", "text": "Every walker has insurance."},
            {"id": "b", "text": "Insurance costs 3 EUR per walk for each walker."},
        ]},
    })
    found = await BM25Retriever().retrieve(request, request.query)
    block = passages_block(found, "Retrieved passages:")
    assert block.splitlines()[0] == "Retrieved passages:"
    assert "[1] (document " in block and "[2] (document " in block
    assert "(document a “Safety”) Every walker has insurance." in block
    note = sources_note(found)
    assert note.splitlines()[0] == "Passages used (2 from the 2 documents provided):"
    assert "document b: “Insurance costs 3 EUR per walk for each walker.”" in note
