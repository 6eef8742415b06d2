"""The `multi_agent` handler end to end, on the simulator and on a real HTTP server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jobgate.agents import KIND, estimate_seconds, make_handler, run_multi_agent
from jobgate.agents.credentials import with_sealed_key
from jobgate.errors import PermanentError
from jobgate.settings import Settings
from tests.agents.conftest import ChatServer, InMemoryReporter, Reply

SECRET = "server-secret-0123456789"
USER_KEY = "sk-user-key-abcdef123456"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def sim_settings(**kw: Any) -> Settings:
    options: dict[str, Any] = {"llm_backend": "simulated", "sim_step_s": 0.0, "auth_secret": SECRET}
    return Settings(**{**options, **kw})


async def test_simulated_job_returns_a_json_ready_response(reporter: InMemoryReporter) -> None:
    payload = {"query": "Plan a pet-sitting app", "coordination_mode": "debate", "user_id": "u1"}
    result = await run_multi_agent(reporter, payload, sim_settings())
    assert json.loads(json.dumps(result)) == result
    assert result["coordination_mode"] == "debate"
    assert result["primary_agent"] == "summary"
    assert result["metadata"]["backend"] == "simulated"
    assert result["metadata"]["model"] == "jobgate-simulator"
    assert result["metadata"]["steps"] == len(result["agent_interactions"]) == 5
    assert ISO.match(result["timestamp"])
    assert all(ISO.match(i["timestamp"]) for i in result["agent_interactions"])
    assert "Plan a pet-sitting app" in result["response"]
    again = await run_multi_agent(InMemoryReporter(), payload, sim_settings())
    assert [i["response"] for i in again["agent_interactions"]] == [
        i["response"] for i in result["agent_interactions"]
    ]
    assert reporter.fractions[-1] == 1.0


async def test_invalid_payload_fails_permanently_naming_the_field(
    reporter: InMemoryReporter,
) -> None:
    with pytest.raises(PermanentError, match="primary_agent") as info:
        await run_multi_agent(reporter, {"query": "q", "primary_agent": "wizard"}, sim_settings())
    assert info.value.code == "invalid_request"
    assert reporter.progress_calls == []


async def test_sealed_user_key_reaches_only_the_llm(
    chat_server: ChatServer, reporter: InMemoryReporter
) -> None:
    chat_server.push(*[Reply(chunks=["fine ", "answer"])] * 2)
    settings = Settings(
        llm_backend="openai",
        llm_base_url=chat_server.url,
        llm_api_key="sk-server-key-000000",
        llm_model="m1",
        auth_secret=SECRET,
    )
    payload = with_sealed_key(
        {
            "query": "q",
            "coordination_mode": "sequential",
            "supporting_agents": ["research", "summary"],
        },
        USER_KEY,
        SECRET,
    )
    handler = make_handler(settings)
    result = await handler(reporter, payload)

    assert [h["authorization"] for h, _ in chat_server.requests] == [f"Bearer {USER_KEY}"] * 2
    assert result["response"] == "fine answer"
    assert result["metadata"]["backend"] == "openai" and result["metadata"]["model"] == "m1"
    dumped = json.dumps([result, reporter.events, reporter.progress_calls])
    assert USER_KEY not in dumped and payload["_llm_key"] not in dumped
    assert "".join(t["text"] for t in reporter.of_type("token")) == "fine answerfine answer"


async def test_server_key_is_used_without_a_sealed_one(
    chat_server: ChatServer, reporter: InMemoryReporter
) -> None:
    settings = Settings(
        llm_backend="openai", llm_base_url=chat_server.url, llm_api_key="sk-server-key-000000"
    )
    payload = {"query": "q", "coordination_mode": "sequential", "supporting_agents": ["summary"]}
    await run_multi_agent(reporter, payload, settings)
    assert chat_server.requests[0][0]["authorization"] == "Bearer sk-server-key-000000"


async def test_sealed_key_with_another_secret_fails_permanently(
    reporter: InMemoryReporter,
) -> None:
    payload = with_sealed_key({"query": "q"}, USER_KEY, "another-secret-xyz")
    with pytest.raises(PermanentError) as info:
        await run_multi_agent(reporter, payload, sim_settings())
    assert info.value.code == "llm_key_invalid"


def test_estimate_is_phases_times_step_time() -> None:
    settings = sim_settings(sim_step_s=2.0)
    assert KIND == "multi_agent"
    assert estimate_seconds({"query": "q"}, settings) == 6 * 2.0  # collaborative: 5 + synthesis
    assert estimate_seconds({"query": "q", "coordination_mode": "parallel"}, settings) == 4.0
    assert estimate_seconds({"query": "q", "coordination_mode": "sequential"}, settings) == 14.0
    openai = Settings(llm_backend="openai")
    assert estimate_seconds({"query": "q", "coordination_mode": "debate"}, openai) == 3 * 20.0
