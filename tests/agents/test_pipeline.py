"""The pipeline run for real against a scripted LLM and an in-memory reporter."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.modes import plan
from jobgate.agents.pipeline import PipelineCancelled, run_pipeline
from jobgate.agents.reporting import TokenBatcher
from jobgate.errors import RetryableError
from tests.agents.conftest import InMemoryReporter, ScriptedLLM

MODES = ["sequential", "parallel", "collaborative", "debate", "enhanced_collaborative"]


def request(**kw: Any) -> MultiAgentRequest:
    return MultiAgentRequest.model_validate({"query": "Should we build a mobile app?", **kw})


@pytest.mark.parametrize("mode", MODES)
async def test_every_mode_reports_each_step_and_ends_at_one(
    mode: str, reporter: InMemoryReporter
) -> None:
    req = request(coordination_mode=mode)
    the_plan = plan(req)
    llm = ScriptedLLM()
    resp = await run_pipeline(req, llm, reporter, token_interval_s=0)

    # the agents were called as planned (within a phase, in any order)
    assert sorted(llm.agents) == sorted(s.agent.value for s in the_plan.steps)
    assert len(resp.agent_interactions) == the_plan.total
    assert resp.primary_agent == the_plan.primary.value
    assert resp.response == resp.agent_interactions[-1].response
    assert resp.metadata["steps"] == the_plan.total
    assert resp.metadata["backend"] == "scripted"

    fractions = reporter.fractions
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    outputs = reporter.of_type("agent_output")
    assert sorted(o["index"] for o in outputs) == list(range(1, the_plan.total + 1))
    assert all(o["total"] == the_plan.total and o["response"] for o in outputs)
    # every step announced itself with its agent, round, index and total
    started = [c for c in reporter.progress_calls if c[1] and not c[1].endswith("done")]
    assert len(started) == the_plan.total
    for _, message, step in started:
        assert step is not None
        assert re.fullmatch(
            rf"{step['agent']} agent: .+ \(step {step['index']} of \d+\)", message or ""
        )


async def test_sequential_calls_each_agent_once_reading_the_previous(
    reporter: InMemoryReporter,
) -> None:
    llm = ScriptedLLM()
    resp = await run_pipeline(request(coordination_mode="sequential"), llm, reporter)
    assert llm.agents == [
        "research",
        "analysis",
        "ideation",
        "strategy",
        "validation",
        "prd_authoring",
        "summary",
    ]
    for i, call in enumerate(llm.calls[1:], start=1):
        assert f"{llm.agents[i - 1]} says #{i}" in call.prompt
        assert f"#{i - 1}" not in call.prompt or i == 1
    assert [i.from_agent for i in resp.agent_interactions[:2]] == ["user", "research"]
    assert resp.primary_agent == "summary"


async def test_parallel_runs_at_once_then_summarises(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM(delay_s=0.2)
    resp = await run_pipeline(request(coordination_mode="parallel"), llm, reporter)
    supporters, summary = llm.calls[:-1], llm.calls[-1]
    # all six were running at once, and the summary began after all had ended
    assert max(c.started for c in supporters) < min(c.finished or 0 for c in supporters)
    assert summary.agent == "summary"
    assert summary.started >= max(c.finished or 0 for c in supporters)
    assert all(f"{c.agent} says" in summary.prompt for c in supporters)
    assert resp.metadata["phases"] == 2


async def test_debate_rounds_and_verdict(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM()
    resp = await run_pipeline(request(coordination_mode="debate"), llm, reporter)
    assert [(i.to_agent, i.metadata["round"]) for i in resp.agent_interactions] == [
        ("strategy", 1),
        ("validation", 1),
        ("strategy", 2),
        ("validation", 2),
        ("summary", 1),
    ]
    rebuttal = llm.calls[2].prompt
    assert "strategy says" in rebuttal and "validation says" in rebuttal
    messages = [m for _, m, _ in reporter.progress_calls]
    assert "validation agent: round 2 of 2 (step 4 of 5)" in messages
    assert "summary agent: verdict (step 5 of 5)" in messages
    assert resp.metadata["rounds"] == 2


async def test_enhanced_collaborative_progress_names_rounds(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM()
    await run_pipeline(request(coordination_mode="enhanced_collaborative"), llm, reporter)
    messages = [m for _, m, _ in reporter.progress_calls]
    assert "strategy agent: round 2 of 3 (step 12 of 19)" in messages
    assert len(llm.calls) == 19


async def test_streamed_tokens_become_token_events(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM()
    await run_pipeline(
        request(coordination_mode="sequential", supporting_agents=["research"]),
        llm,
        reporter,
        token_interval_s=0,
    )
    tokens = reporter.of_type("token")
    assert "".join(t["text"] for t in tokens) == "research says #1"
    assert len(tokens) == 3 and {t["agent"] for t in tokens} == {"research"}


async def test_token_batcher_sends_by_time_and_size(reporter: InMemoryReporter) -> None:
    now = [0.0]
    batcher = TokenBatcher(
        reporter, "research", 1, interval_s=0.1, max_chars=10, clock=lambda: now[0]
    )
    await batcher.add("ab")
    await batcher.add("cd")
    assert reporter.of_type("token") == []
    now[0] = 0.15
    await batcher.add("e")
    await batcher.add("0123456789")
    await batcher.add("z")
    await batcher.flush()
    await batcher.flush()
    assert [t["text"] for t in reporter.of_type("token")] == ["abcde", "0123456789", "z"]


async def test_cancel_flag_between_steps_starts_no_further_agent(
    reporter: InMemoryReporter,
) -> None:
    reporter.cancel_after_outputs = 2
    llm = ScriptedLLM()
    with pytest.raises(PipelineCancelled) as info:
        await run_pipeline(request(coordination_mode="sequential"), llm, reporter)
    assert info.value.code == "cancelled"
    assert llm.agents == ["research", "analysis"]
    assert reporter.fractions[-1] == pytest.approx(2 / 7)


async def test_cancel_flag_mid_step_cancels_the_running_call(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM(delay_s=5)
    task = asyncio.create_task(
        run_pipeline(request(coordination_mode="sequential"), llm, reporter, cancel_poll_s=0.02)
    )
    await llm.wait_for_calls(1)
    reporter.cancel()
    started = time.monotonic()
    with pytest.raises(PipelineCancelled):
        await task
    assert time.monotonic() - started < 1
    assert len(llm.calls) == 1 and llm.calls[0].cancelled and llm.calls[0].finished is None
    assert reporter.of_type("agent_output") == []


async def test_task_cancel_propagates_and_stops_running_agents(
    reporter: InMemoryReporter,
) -> None:
    llm = ScriptedLLM(delay_s=5)
    task = asyncio.create_task(run_pipeline(request(coordination_mode="parallel"), llm, reporter))
    await llm.wait_for_calls(6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(c.cancelled for c in llm.calls)


async def test_a_failing_parallel_step_raises_its_own_error(reporter: InMemoryReporter) -> None:
    llm = ScriptedLLM(delay_s=0.3, fail_agent="ideation")
    with pytest.raises(RetryableError, match="ideation failed"):
        await run_pipeline(request(coordination_mode="parallel"), llm, reporter)
    others = [c for c in llm.calls if c.agent != "ideation"]
    assert others and all(c.cancelled for c in others)
