"""The rag agent inside a run, and the app's own request bodies.

A scripted LLM records every prompt, so these tests read exactly what each
agent was shown: rag's passages, and who else got them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from jobgate.agents.llm.simulated import SimulatedLLM
from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.pipeline import run_pipeline
from jobgate.agents.ranking import Document
from jobgate.agents.retrieval import BM25Retriever, RequestDocuments
from tests.agents.conftest import InMemoryReporter, ScriptedLLM

FORM = {
    "problem": "Busy dog owners cannot find a reliable walker at short notice.",
    "target_users": "Urban professionals with one dog and long office days.",
    "solution_idea": "An app that books a vetted, insured walker within two hours.",
}
CONTEXT = {"product_id": "prod-7", "phase_id": "phase-2", "phase_name": "Ideation",
           "form_data": FORM}

# The app's requests, as its frontend sends them (inside {"request": ...}).
PHASE_RESEARCH = {
    "query": "Generate solution ideas for busy dog owners who need a walker at short notice",
    "user_id": "app-user-1",
    "primary_agent": "ideation",
    "supporting_agents": ["rag", "research"],
    "coordination_mode": "enhanced_collaborative",
    "context": CONTEXT,
}
PHASE_ANALYSIS = {
    "query": "Analyse the market for on-demand dog walking for urban professionals",
    "primary_agent": "strategy",
    "supporting_agents": ["rag", "analysis"],
    "coordination_mode": "enhanced_collaborative",
    "context": {**CONTEXT, "phase_id": "phase-3", "phase_name": "Market Analysis"},
}
CHAT = {
    "query": "Which users should we target first with the walker app?",
    "primary_agent": "research",
    "supporting_agents": ["rag"],
    "coordination_mode": "collaborative",
    "context": {"product_id": "prod-7", "form_data": FORM},
}
REFINE = {
    "query": "Refine the solution idea: a vetted walker booked within two hours",
    "primary_agent": "ideation",
    "supporting_agents": ["rag", "validation"],
    "coordination_mode": "enhanced_collaborative",
    "context": CONTEXT,
}
APP_BODIES = {"phase+research": PHASE_RESEARCH, "phase+analysis": PHASE_ANALYSIS,
              "chat": CHAT, "refine": REFINE}


def request(body: dict[str, Any], **kw: Any) -> MultiAgentRequest:
    return MultiAgentRequest.model_validate({**body, **kw})


@pytest.mark.parametrize("name", APP_BODIES)
async def test_the_apps_requests_complete_with_rag_citing_the_form(
    name: str, reporter: InMemoryReporter
) -> None:
    body = APP_BODIES[name]
    resp = await run_pipeline(request(body), SimulatedLLM(0.0), reporter, token_interval_s=0)
    agents = {i.to_agent for i in resp.agent_interactions}
    assert agents == {body["primary_agent"], *body["supporting_agents"]}
    assert resp.primary_agent == body["primary_agent"] and resp.response
    rag = [i for i in resp.agent_interactions if i.to_agent == "rag"]
    rounds = 3 if body["coordination_mode"] == "enhanced_collaborative" else 1
    assert len(rag) == rounds
    for step in rag:
        assert step.response.startswith("[Simulated RAG agent")
        assert "Passages used (" in step.response and "document form_data." in step.response
        assert step.metadata["llm_called"] is True
    cited = {p["document_id"] for p in resp.metadata["retrieval"]["passages"]}
    assert cited and cited <= {f"form_data.{k}" for k in FORM}
    assert resp.metadata["retrieval"]["documents"] == 3  # the form's three answers
    # streamed tokens add up to each step's text, passages note included
    for step in rag:
        index = step.metadata["index"]
        tokens = [t["text"] for t in reporter.of_type("token") if t["index"] == index]
        assert "".join(tokens) == step.response


async def test_downstream_agents_see_rags_passages(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM()
    resp = await run_pipeline(request(PHASE_RESEARCH), llm, reporter)
    passage = "Busy dog owners cannot find a reliable walker at short notice."
    by_round = {(c.agent, n // 3 + 1): c.prompt for n, c in enumerate(llm.calls[:9])}
    rag_prompt = by_round[("rag", 1)]
    assert "Retrieved passages (cite them as [n]):" in rag_prompt and passage in rag_prompt
    # round 1: research reads nothing, so it is shown no passages
    assert "Passages retrieved by the rag agent" not in by_round[("research", 1)]
    # round 2: research and ideation read rag's round-1 output, and get the passages
    for agent in ("research", "ideation"):
        prompt = by_round[(agent, 2)]
        assert "Passages retrieved by the rag agent" in prompt and passage in prompt
        assert "--- Output of the rag agent, round 1 ---" in prompt
        assert "Passages used (" in prompt  # rag's own output, with its note
    synthesis = llm.calls[-1]
    assert synthesis.agent == "ideation" and passage in synthesis.prompt
    assert resp.agent_interactions[0].response.startswith("rag says #1\n\nPassages used (")


async def test_rag_says_plainly_when_nothing_is_relevant(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM()
    body = {**PHASE_RESEARCH, "query": "Quarterly tax filing deadlines in Norway"}
    resp = await run_pipeline(request(body), llm, reporter)
    assert "rag" not in llm.agents  # no model asked to make something up
    rag = [i for i in resp.agent_interactions if i.to_agent == "rag"]
    assert len(rag) == 3
    expected = (
        "No relevant passages found in the 3 documents provided for "
        "“Quarterly tax filing deadlines in Norway”."
    )
    assert all(i.response == expected for i in rag)
    assert all(i.metadata["llm_called"] is False for i in rag)
    assert resp.metadata["retrieval"]["passages"] == []
    # the others read rag's plain statement, and no invented passages
    research_round2 = llm.calls[2].prompt
    assert expected in research_round2 and "Passages retrieved" not in research_round2
    assert len(reporter.of_type("agent_output")) == resp.metadata["steps"] == 10


async def test_rag_without_documents_counts_zero(reporter: InMemoryReporter) -> None:
    req = request({"query": "Pricing for walkers", "supporting_agents": ["rag", "research"]})
    resp = await run_pipeline(req, ScriptedLLM(), reporter)
    rag = next(i for i in resp.agent_interactions if i.to_agent == "rag")
    assert rag.response.startswith("No relevant passages found in the 0 documents provided")


async def test_rag_as_primary_still_synthesises_when_nothing_is_found(
    reporter: InMemoryReporter,
) -> None:
    llm = ScriptedLLM()
    req = request({"query": "Tax deadlines", "coordination_mode": "parallel",
                   "primary_agent": "rag", "supporting_agents": ["research", "strategy"],
                   "context": CONTEXT})
    resp = await run_pipeline(req, llm, reporter)
    assert llm.agents[-1] == "rag"
    assert "research says" in llm.calls[-1].prompt
    assert "No relevant passages found in the 3 documents provided" in llm.calls[-1].prompt
    assert resp.response.startswith("rag says #3\n\nNo relevant passages found in the 3 documents")
    assert resp.agent_interactions[-1].metadata["llm_called"] is True


class ProductStore:
    name = "product"

    async def documents(self, request: MultiAgentRequest) -> Sequence[Document]:
        return [Document("product:faq", "Walkers earn 18 EUR per hour.", "Walker FAQ")]


async def test_a_retriever_with_more_sources_is_used(reporter: InMemoryReporter) -> None:
    req = request({"query": "What do walkers earn per hour?", "supporting_agents": ["rag"],
                   "primary_agent": "summary", "context": CONTEXT})
    retriever = BM25Retriever([RequestDocuments(), ProductStore()])
    resp = await run_pipeline(req, ScriptedLLM(), reporter, retriever=retriever)
    retrieval = resp.metadata["retrieval"]
    assert retrieval["sources"] == ["request", "product"] and retrieval["documents"] == 4
    assert retrieval["passages"][0]["document_id"] == "product:faq"
    assert "[1] document product:faq “Walker FAQ”: “Walkers earn 18 EUR per hour.”" in (
        resp.agent_interactions[0].response
    )
