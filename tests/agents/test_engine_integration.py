"""A multi_agent job through the real engine: embedded Valkey, burst worker."""

from __future__ import annotations

from jobgate.agents import KIND, estimate_seconds, make_handler, parse_request
from jobgate.agents.credentials import with_sealed_key
from jobgate.job import JobState
from jobgate.services import Services
from tests.helpers import drain


async def test_multi_agent_job_completes_with_progress_and_agent_events(
    services: Services,
) -> None:
    settings = services.settings
    store = services.store
    request = {"query": "Launch plan for a pet-sitting app", "coordination_mode": "debate"}
    # A sealed key travels with the job; the simulator ignores it, nobody may see it.
    payload = with_sealed_key(request, "sk-user-abcdef123456", settings.auth_secret or "")
    enq = await store.enqueue(
        KIND, "alice", payload, estimate_s=estimate_seconds(parse_request(request), settings)
    )

    await drain(services, {KIND: make_handler(settings)})

    job = await store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED, job
    assert job.progress == 1.0 and job.attempt == 1
    result = job.result
    assert result["coordination_mode"] == "debate"
    assert result["metadata"]["backend"] == "simulated"
    assert len(result["agent_interactions"]) == result["metadata"]["steps"] == 5

    events = await store.events_after(enq.job_id, None)
    outputs = [e.data for e in events if e.type == "agent_output"]
    assert [o["index"] for o in sorted(outputs, key=lambda o: o["index"])] == [1, 2, 3, 4, 5]
    progress = [e.data["progress"] for e in events if e.type == "progress"]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(e.type == "token" for e in events)
    assert "sk-user" not in str(result) and payload["_llm_key"] not in str(events)


async def test_the_apps_phase_request_with_rag_through_the_engine(services: Services) -> None:
    settings = services.settings
    request = {
        "query": "Generate solution ideas for busy dog owners who need a walker fast",
        "primary_agent": "ideation",
        "supporting_agents": ["rag", "research"],
        "coordination_mode": "enhanced_collaborative",
        "context": {
            "product_id": "prod-7", "phase_id": "phase-2", "phase_name": "Ideation",
            "form_data": {"problem": "Busy dog owners cannot book a walker at short notice.",
                          "budget": "Owners pay 15 to 25 EUR per walk today."},
        },
    }
    enq = await services.store.enqueue(
        KIND, "alice", request, estimate_s=estimate_seconds(parse_request(request), settings)
    )

    await drain(services, {KIND: make_handler(settings)})

    job = await services.store.get(enq.job_id)
    assert job is not None and job.state is JobState.COMPLETED, job
    result = job.result
    assert result["primary_agent"] == "ideation"
    interactions = result["agent_interactions"]
    assert [i["to_agent"] for i in interactions] == ["rag", "research", "ideation"] * 3 + [
        "ideation"
    ]
    rag = interactions[0]
    assert "[1] document form_data.problem “problem”: “Busy dog owners cannot book" in (
        rag["response"]
    )
    assert rag["metadata"]["retrieval"]["documents"] == 2
    assert result["metadata"]["retrieval"]["passages"][0]["document_id"] == "form_data.problem"
    events = await services.store.events_after(enq.job_id, None)
    outputs = {e.data["index"]: e.data for e in events if e.type == "agent_output"}
    assert outputs[1]["agent"] == "rag" and outputs[1]["response"] == rag["response"]
