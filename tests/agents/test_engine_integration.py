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
