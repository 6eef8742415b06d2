"""The rag agent reads the product's stored documents and earlier results, in a real
job through the engine (embedded Valkey, burst worker), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobgate.agents import KIND, MultiAgentRequest, estimate_seconds, parse_request
from jobgate.errors import RetryableError
from jobgate.handlers import registry
from jobgate.history.db import History, open_url
from jobgate.history.documents import add_document
from jobgate.history.search import ProductKnowledge
from jobgate.job import JobState
from jobgate.services import Services
from tests.helpers import drain
from tests.history.test_search import result_row, upsert

NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)
WALKERS = ("Dog walkers on demand: a walker can reach a busy owner fast, within 30 minutes "
           "in Berlin; walkers are vetted and insured.")


def rag_request(owner: str, **context: Any) -> dict[str, Any]:
    """As the API stores it: `user_id` is the token's subject."""
    return {
        "user_id": owner,
        "query": "How fast can a dog walker reach a busy owner, and what does a walk cost?",
        "primary_agent": "summary",
        "supporting_agents": ["rag"],
        "coordination_mode": "sequential",
        "context": context,
    }


async def run(services: Services, history: History, request: dict[str, Any]) -> dict[str, Any]:
    settings = services.settings
    enq = await services.store.enqueue(
        KIND, request["user_id"], request,
        estimate_s=estimate_seconds(parse_request(request), settings))
    await drain(services, {KIND: registry(settings, history)[KIND]})
    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED, job
    result: dict[str, Any] = job.result
    return result


async def test_rag_uses_stored_documents_earlier_results_and_the_request(
    services: Services, history: History
) -> None:
    doc = await add_document(history, "alice", "prod-7", "Walkers", WALKERS, "text/markdown",
                             NOW)
    theirs = await add_document(history, "bob", "prod-7", "Bob's walkers", WALKERS,
                                "text/plain", NOW)
    await upsert(history, [
        result_row("j-price", "What should a dog walk cost?",
                   "A walk costs 15 to 25 EUR; owners pay more for a walker within the hour.",
                   product="prod-7"),
        result_row("j-bob", "dog walk cost", "Bob's walk costs 99 EUR.", owner="bob",
                   product="prod-7"),
    ])
    request = rag_request("alice", product_id="prod-7",
                          form_data={"problem": "Busy owners need a dog walker fast."})

    result = await run(services, history, request)

    rag = next(i for i in result["agent_interactions"] if i["to_agent"] == "rag")
    summary = rag["metadata"]["retrieval"]
    assert summary["sources"] == ["request", "product"]
    assert summary["documents"] == 3  # the form's answer, alice's document, her earlier result
    used = {p["document_id"]: p for p in summary["passages"]}
    assert set(used) == {f"product:{doc.id}", "job:j-price", "form_data.problem"}
    assert used[f"product:{doc.id}"]["title"] == "Walkers"
    assert used["job:j-price"]["title"] == "earlier result: What should a dog walk cost?"
    response = rag["response"]
    assert f"document product:{doc.id} “Walkers”: “" in response  # named, with its excerpt
    assert "document job:j-price “earlier result: What should a dog walk cost?”: “A walk" in (
        response)
    assert theirs.id not in str(result) and "99 EUR" not in str(result)


async def test_without_a_product_only_the_request_is_searched(
    services: Services, history: History
) -> None:
    await add_document(history, "alice", "prod-7", "Walkers", WALKERS, "text/plain", NOW)
    result = await run(services, history, rag_request(
        "alice", documents=["A dog walker costs 20 EUR per walk."]))
    rag = next(i for i in result["agent_interactions"] if i["to_agent"] == "rag")
    passages = rag["metadata"]["retrieval"]["passages"]
    assert [p["document_id"] for p in passages] == ["documents[0]"]


async def test_the_top_level_product_id_counts_too(history: History) -> None:
    doc = await add_document(history, "alice", "prod-9", "Walkers", WALKERS, "text/plain", NOW)
    request = MultiAgentRequest.model_validate(
        {**rag_request("alice"), "product_id": "prod-9", "context": None})
    found = await ProductKnowledge(history).documents(request)
    assert [d.id for d in found] == [f"product:{doc.id}"]
    nobody = MultiAgentRequest.model_validate({**rag_request("alice"), "user_id": None,
                                               "product_id": "prod-9"})
    assert await ProductKnowledge(history).documents(nobody) == []


@pytest.mark.timeout(60)
async def test_an_unreachable_database_is_a_retryable_failure() -> None:
    history = open_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    request = MultiAgentRequest.model_validate(rag_request("alice", product_id="p"))
    try:
        with pytest.raises(RetryableError, match="product's documents could not be read") as e:
            await ProductKnowledge(history).documents(request)
        assert e.value.code == "history_unavailable"
    finally:
        await history.close()


async def test_large_stored_documents_are_ranked_off_the_loop(history: History) -> None:
    """Over INLINE_RANK_CHARS the ranking runs in a thread; the passages are the same."""
    from jobgate.agents.retrieval import INLINE_RANK_CHARS, BM25Retriever

    filler = "\n\n".join(f"Paragraph {i} about office plants and coffee." for i in range(2500))
    big = f"{filler}\n\nA dog walker can reach a busy owner fast in Berlin.\n\n{filler}"
    assert len(big) > INLINE_RANK_CHARS
    doc = await add_document(history, "alice", "prod-7", "Handbook", big, "text/plain", NOW)
    request = MultiAgentRequest.model_validate(rag_request("alice", product_id="prod-7"))
    retrieval = await BM25Retriever([ProductKnowledge(history)]).retrieve(request, request.query)
    assert retrieval.passages[0].document_id == f"product:{doc.id}"
    assert "dog walker can reach a busy owner" in retrieval.passages[0].text
