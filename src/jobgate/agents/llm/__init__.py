"""LLM backends: one interface (`LLMBackend`), chosen per job by settings.

A backend is built fresh for every job and closed with it: a user's own API
key lives in that one object for that one job, never in a shared registry.
"""

from __future__ import annotations

from jobgate.agents.llm.base import LLMBackend, OnToken
from jobgate.agents.llm.openai import OpenAIChatLLM
from jobgate.agents.llm.simulated import SimulatedLLM
from jobgate.settings import Settings

__all__ = ["LLMBackend", "OnToken", "OpenAIChatLLM", "SimulatedLLM", "make_backend"]


def make_backend(settings: Settings, api_key: str | None = None) -> LLMBackend:
    """The backend `settings.llm_backend` names, for one job.

    `api_key` is the job's own key (unsealed from its payload); without one
    the server's `JOBGATE_LLM_API_KEY` is used. The simulator needs no key.
    """
    if settings.llm_backend == "openai":
        return OpenAIChatLLM(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=api_key or settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
        )
    return SimulatedLLM(settings.sim_step_s)
