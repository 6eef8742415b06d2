"""The app's whole roster, in every mode, through the pipeline on the simulator.

The simulator runs at step 0, so each run is real (planning, prompts,
retrieval, streaming, reporting) and takes milliseconds.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jobgate.agents.llm.simulated import SimulatedLLM, simulate
from jobgate.agents.models import ALL_AGENTS, DEFAULT_AGENTS, AgentName, MultiAgentRequest
from jobgate.agents.modes import plan
from jobgate.agents.pipeline import run_pipeline
from jobgate.agents.roles import ROLE_PROMPTS, system_prompt
from tests.agents.conftest import InMemoryReporter

MODES = ["sequential", "parallel", "collaborative", "debate", "enhanced_collaborative"]
ROSTER = [
    "research", "analysis", "ideation", "strategy", "validation", "prd_authoring", "summary",
    "requirements", "scoring", "export", "rag", "v0", "lovable",
]
CONTEXT = {
    "product_id": "prod-42",
    "documents": [
        {"id": "interviews", "title": "Owner interviews",
         "text": "Dog owners pay per walk today. Most owners want vetted, insured walkers."},
        {"id": "weather", "text": "Rain in November lowers demand for long walks."},
    ],
}


def request(**kw: Any) -> MultiAgentRequest:
    return MultiAgentRequest.model_validate(
        {"query": "What would dog owners pay for insured walkers?", "context": CONTEXT, **kw}
    )


async def run(req: MultiAgentRequest) -> tuple[Any, InMemoryReporter]:
    reporter = InMemoryReporter()
    resp = await run_pipeline(req, SimulatedLLM(0.0), reporter, token_interval_s=0)
    return resp, reporter


def test_the_roster_is_the_apps_and_the_default_seven_come_first() -> None:
    assert [a.value for a in AgentName] == ROSTER == [a.value for a in ALL_AGENTS]
    assert [a.value for a in DEFAULT_AGENTS] == ROSTER[:7]


def test_every_agent_has_its_own_prompt_and_the_simulator_names_it() -> None:
    assert set(ROLE_PROMPTS) == set(AgentName)
    assert len(set(ROLE_PROMPTS.values())) == len(AgentName)
    roles = {}
    for agent in AgentName:
        assert ROLE_PROMPTS[agent].startswith("You are the ")
        text = simulate(system_prompt(agent), "Request: a dog-walking app")
        roles[agent] = text.split(" agent,", 1)[0].removeprefix("[Simulated ")
    assert roles[AgentName.RAG] == "RAG"
    assert roles[AgentName.V0] == "v0" and roles[AgentName.LOVABLE] == "Lovable"
    assert len(set(roles.values())) == len(AgentName)
    # what makes each specialist specific, not a renamed generalist
    assert "v0" in ROLE_PROMPTS[AgentName.V0] and "shadcn/ui" in ROLE_PROMPTS[AgentName.V0]
    assert "Lovable" in ROLE_PROMPTS[AgentName.LOVABLE]
    assert "weighted total" in ROLE_PROMPTS[AgentName.SCORING]
    assert "Markdown" in ROLE_PROMPTS[AgentName.EXPORT] and "JSON" in ROLE_PROMPTS[AgentName.EXPORT]
    assert "acceptance test" in ROLE_PROMPTS[AgentName.REQUIREMENTS]
    assert "[n]" in ROLE_PROMPTS[AgentName.RAG]


def check_run(resp: Any, reporter: InMemoryReporter, req: MultiAgentRequest, agent: str) -> None:
    """What holds for any run: every planned step answered, `agent` among them."""
    the_plan = plan(req)
    to_agents = [i.to_agent for i in resp.agent_interactions]
    assert agent in to_agents
    assert to_agents.count(agent) == [s.agent.value for s in the_plan.steps].count(agent)
    assert len(resp.agent_interactions) == the_plan.total == resp.metadata["steps"]
    assert all(i.response.strip() for i in resp.agent_interactions)
    assert resp.response == resp.agent_interactions[-1].response
    assert reporter.fractions[-1] == 1.0
    rag_steps = [i for i in resp.agent_interactions if i.to_agent == "rag"]
    assert ("retrieval" in resp.metadata) == bool(rag_steps)
    for step in rag_steps:
        assert "Passages used (1 from the 2 documents provided):" in step.response
        assert "[1] document interviews “Owner interviews”: “" in step.response
        assert step.metadata["retrieval"]["passages"][0]["document_id"] == "interviews"
    assert all(i.response.startswith("[Simulated ") for i in resp.agent_interactions)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("agent", ROSTER)
async def test_every_agent_as_primary_in_every_mode(agent: str, mode: str) -> None:
    req = request(coordination_mode=mode, primary_agent=agent)
    resp, reporter = await run(req)
    check_run(resp, reporter, req, agent)
    assert resp.primary_agent == agent == resp.agent_interactions[-1].to_agent
    assert resp.coordination_mode == mode


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("agent", ROSTER)
async def test_every_agent_as_supporter_in_every_mode(agent: str, mode: str) -> None:
    primary = "summary" if agent != "summary" else "strategy"
    partner = "research" if agent != "research" else "analysis"
    req = request(coordination_mode=mode, primary_agent=primary,
                  supporting_agents=[agent, partner])
    resp, reporter = await run(req)
    check_run(resp, reporter, req, agent)
    assert resp.primary_agent == primary
    assert resp.agent_interactions[-1].to_agent == primary
    assert {i.to_agent for i in resp.agent_interactions} == {agent, partner, primary}


@pytest.mark.parametrize("mode", MODES)
async def test_the_whole_roster_at_once(mode: str) -> None:
    req = request(coordination_mode=mode, primary_agent="summary", supporting_agents=ROSTER)
    resp, reporter = await run(req)
    for agent in ROSTER:
        check_run(resp, reporter, req, agent)


@pytest.mark.parametrize("field", ["primary_agent", "supporting_agents"])
def test_an_unknown_agent_is_refused_naming_every_allowed_one(field: str) -> None:
    value: Any = "wizard" if field == "primary_agent" else ["rag", "wizard"]
    with pytest.raises(ValidationError) as info:
        MultiAgentRequest.model_validate({"query": "q", field: value})
    (error,) = info.value.errors()
    assert error["loc"][0] == field and error["input"] == "wizard"
    for name in ROSTER:
        assert f"'{name}'" in error["msg"], (name, error["msg"])
