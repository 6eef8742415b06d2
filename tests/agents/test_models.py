"""Request validation: every bad field is named, so the API can answer 422."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from jobgate.agents.models import (
    MAX_QUERY_CHARS,
    AgentInteraction,
    AgentName,
    CoordinationMode,
    MultiAgentRequest,
    MultiAgentResponse,
)


def error_locs(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as info:
        MultiAgentRequest.model_validate(data)
    return [tuple(e["loc"]) for e in info.value.errors()]


def test_minimal_request_defaults_to_collaborative() -> None:
    r = MultiAgentRequest.model_validate({"query": "  plan a launch  "})
    assert r.coordination_mode is CoordinationMode.COLLABORATIVE
    assert r.query == "plan a launch"
    assert r.primary_agent is None and r.supporting_agents is None


def test_full_request_round_trips() -> None:
    data = {
        "user_id": "u1",
        "product_id": "p1",
        "query": "q",
        "coordination_mode": "debate",
        "primary_agent": "summary",
        "supporting_agents": ["strategy", "validation"],
        "context": {"market": "EU", "budget": 10},
    }
    r = MultiAgentRequest.model_validate(data)
    assert r.supporting_agents == [AgentName.STRATEGY, AgentName.VALIDATION]
    assert r.model_dump(mode="json") == data


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"query": "q", "primary_agent": "wizard"}, ("primary_agent",)),
        ({"query": "q", "supporting_agents": ["research", "wizard"]}, ("supporting_agents", 1)),
        ({"query": "q", "coordination_mode": "anarchy"}, ("coordination_mode",)),
        ({"query": "q", "surprise": 1}, ("surprise",)),
        ({"query": "q", "_llm_key": "x"}, ("_llm_key",)),
        ({"query": "   "}, ("query",)),
        ({}, ("query",)),
        ({"query": "x" * (MAX_QUERY_CHARS + 1)}, ("query",)),
        ({"query": "q", "context": {"blob": "x" * 30_000}}, ("context",)),
        ({"query": "q", "context": {str(i): i for i in range(101)}}, ("context",)),
        ({"query": "q", "supporting_agents": ["research"] * 14}, ("supporting_agents",)),
    ],
)
def test_invalid_fields_are_named(data: dict[str, Any], loc: tuple[Any, ...]) -> None:
    assert loc in error_locs(data)


def test_debate_needs_two_debaters_besides_the_judge() -> None:
    data: dict[str, Any] = {"query": "q", "coordination_mode": "debate"}
    data["supporting_agents"] = ["summary", "ideation"]
    assert error_locs(data) == [("supporting_agents",)]
    data["primary_agent"] = "strategy"
    assert MultiAgentRequest.model_validate(data).supporting_agents is not None


def test_response_datetimes_are_iso_with_offset_and_microseconds() -> None:
    at = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
    resp = MultiAgentResponse(
        primary_agent="summary",
        response="r",
        agent_interactions=[
            AgentInteraction(
                from_agent="user", to_agent="summary", query="q", response="r", timestamp=at
            )
        ],
        coordination_mode="sequential",
        metadata={"backend": "simulated"},
        timestamp=at,
    )
    data = resp.model_dump(mode="json")
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
    assert data["timestamp"] == "2025-05-01T10:00:00.000000+00:00"
    assert iso.match(data["agent_interactions"][0]["timestamp"])
