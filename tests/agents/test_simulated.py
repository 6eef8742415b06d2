"""The offline simulator: deterministic text, streamed over `step_s` seconds."""

from __future__ import annotations

import time

import pytest

from jobgate.agents.llm.simulated import SimulatedLLM, simulate
from jobgate.agents.models import AgentName
from jobgate.agents.roles import system_prompt


def test_same_input_same_text_and_it_says_it_is_simulated() -> None:
    system = system_prompt(AgentName.PRD_AUTHORING)
    a = simulate(system, "Request: a pet-sitting app\n\nTask: write it")
    assert a == simulate(system, "Request: a pet-sitting app\n\nTask: write it")
    assert a.startswith("[Simulated PRD authoring agent")
    assert "no LLM was called" in a
    assert a != simulate(system, "Request: a pet-sitting app\n\nTask: other")
    assert a != simulate(system_prompt(AgentName.RESEARCH), "Request: a pet-sitting app")


@pytest.mark.parametrize("step_s", [0.0, 0.3])
async def test_streams_words_over_step_s(step_s: float) -> None:
    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    system, prompt = system_prompt(AgentName.RESEARCH), "Request: pets"
    async with SimulatedLLM(step_s) as llm:
        started = time.monotonic()
        text = await llm.complete(system, prompt, on_token)
        elapsed = time.monotonic() - started
    assert text == simulate(system, prompt)
    assert "".join(tokens) == text and len(tokens) > 10
    assert step_s <= elapsed < step_s + 1.0
    assert llm.name == "simulated"


def test_says_it_is_a_simulator_in_its_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="jobgate.agents.llm.simulated")
    SimulatedLLM(2.0)
    assert "offline simulator" in caplog.text
