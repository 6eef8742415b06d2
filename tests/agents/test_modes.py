"""The plans of the five coordination modes: pure, checked without any I/O."""

from __future__ import annotations

from typing import Any

from jobgate.agents.models import DEFAULT_AGENTS, AgentName, MultiAgentRequest
from jobgate.agents.modes import ENHANCED_ROUNDS, Plan, StepKind, plan

A = AgentName


def make(**kw: Any) -> Plan:
    return plan(MultiAgentRequest.model_validate({"query": "q", **kw}))


def agents(p: Plan) -> list[AgentName]:
    return [s.agent for s in p.steps]


def test_indices_count_from_one_and_reads_point_backwards() -> None:
    for mode in ("sequential", "parallel", "collaborative", "debate", "enhanced_collaborative"):
        p = make(coordination_mode=mode)
        assert [s.index for s in p.steps] == list(range(1, p.total + 1))
        by_index = {s.index: s for s in p.steps}
        for s in p.steps:
            assert all(by_index[r].phase < s.phase for r in s.reads), (mode, s)
        assert p.steps[-1].agent is p.primary


def test_sequential_default_runs_all_seven_once_in_a_chain() -> None:
    p = make(coordination_mode="sequential")
    assert agents(p) == list(DEFAULT_AGENTS)
    assert [s.reads for s in p.steps] == [()] + [(i,) for i in range(1, 7)]
    assert [s.phase for s in p.steps] == list(range(7))
    assert [s.from_agent for s in p.steps[:2]] == ["user", "research"]
    assert p.primary is A.SUMMARY and len(p.phases) == 7


def test_sequential_with_selected_agents_runs_exactly_those() -> None:
    p = make(coordination_mode="sequential", supporting_agents=["validation", "research"])
    assert agents(p) == [A.VALIDATION, A.RESEARCH]
    assert p.primary is A.RESEARCH
    p = make(
        coordination_mode="sequential", primary_agent="strategy", supporting_agents=["ideation"]
    )
    assert agents(p) == [A.IDEATION, A.STRATEGY]


def test_parallel_runs_supporters_in_one_phase_then_a_summary() -> None:
    p = make(coordination_mode="parallel")
    first, second = p.phases
    assert {s.agent for s in first} == set(DEFAULT_AGENTS) - {A.SUMMARY}
    assert [s.agent for s in second] == [A.SUMMARY]
    assert second[0].kind is StepKind.SYNTHESIS
    assert second[0].reads == tuple(s.index for s in first)


def test_collaborative_primary_consults_each_supporter_then_synthesises() -> None:
    p = make(coordination_mode="collaborative")
    assert p.primary is A.STRATEGY
    assert agents(p) == [
        A.RESEARCH,
        A.ANALYSIS,
        A.IDEATION,
        A.VALIDATION,
        A.PRD_AUTHORING,
        A.STRATEGY,
    ]
    consults, synthesis = p.steps[:-1], p.steps[-1]
    assert all(s.kind is StepKind.CONSULTATION and s.from_agent == "strategy" for s in consults)
    assert [s.reads for s in consults[:3]] == [(), (1,), (1, 2)]
    assert synthesis.reads == (1, 2, 3, 4, 5)
    assert len(p.phases) == 6


def test_collaborative_with_named_agents_drops_the_primary_from_supporters() -> None:
    p = make(primary_agent="research", supporting_agents=["research", "analysis", "analysis"])
    assert agents(p) == [A.ANALYSIS, A.RESEARCH]


def test_debate_is_two_rounds_of_argument_and_a_verdict() -> None:
    p = make(coordination_mode="debate")
    assert [(s.agent, s.round, s.kind) for s in p.steps] == [
        (A.STRATEGY, 1, StepKind.ARGUMENT),
        (A.VALIDATION, 1, StepKind.ARGUMENT),
        (A.STRATEGY, 2, StepKind.REBUTTAL),
        (A.VALIDATION, 2, StepKind.REBUTTAL),
        (A.SUMMARY, 1, StepKind.VERDICT),
    ]
    assert p.steps[2].reads == (1, 2)
    assert p.steps[4].reads == (1, 2, 3, 4)
    assert p.rounds == 2 and len(p.phases) == 3


def test_debate_judge_never_debates() -> None:
    p = make(coordination_mode="debate", primary_agent="strategy")
    assert {s.agent for s in p.steps[:-1]} == {A.VALIDATION, A.IDEATION}
    assert p.steps[-1].agent is A.STRATEGY


def test_enhanced_collaborative_rounds_read_the_others_previous_outputs() -> None:
    p = make(
        coordination_mode="enhanced_collaborative",
        primary_agent="summary",
        supporting_agents=["research", "ideation"],
    )
    members = [A.RESEARCH, A.IDEATION, A.SUMMARY]
    assert agents(p) == members * ENHANCED_ROUNDS + [A.SUMMARY]
    assert [s.round for s in p.steps[:-1]] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    research_round2 = p.steps[3]
    assert research_round2.reads == (2, 3)  # ideation and summary of round 1, not itself
    assert p.steps[-1].kind is StepKind.SYNTHESIS
    assert p.steps[-1].reads == (7, 8, 9)
    assert len(p.phases) == ENHANCED_ROUNDS + 1


def test_enhanced_collaborative_default_size() -> None:
    p = make(coordination_mode="enhanced_collaborative")
    assert p.total == 6 * ENHANCED_ROUNDS + 1
    assert p.agents == [
        "research",
        "analysis",
        "ideation",
        "validation",
        "prd_authoring",
        "strategy",
    ]
