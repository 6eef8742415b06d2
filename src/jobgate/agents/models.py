"""Wire models of the multi-agent workload: the request a client submits and
the response a completed job returns.

They keep the names and shapes of the system this replaces
(`MultiAgentRequest`, `MultiAgentResponse`) so old clients keep working, but
validate strictly: an unknown agent, mode or field is a 422 at submit time,
naming the field, instead of a job that fails minutes later.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from jobgate import serde
from jobgate.models import _Wire

MAX_QUERY_CHARS = 20_000
MAX_CONTEXT_CHARS = 20_000
MAX_CONTEXT_KEYS = 100
MAX_CONTEXT_DEPTH = 32
MAX_ID_CHARS = 200


class AgentName(StrEnum):
    """The roster of the app this replaces; each has its own role prompt in
    `roles.py`. The first seven are the general team (`DEFAULT_AGENTS`); the
    rest are specialists a request names when it wants them."""

    RESEARCH = "research"
    ANALYSIS = "analysis"
    IDEATION = "ideation"
    STRATEGY = "strategy"
    VALIDATION = "validation"
    PRD_AUTHORING = "prd_authoring"
    SUMMARY = "summary"
    REQUIREMENTS = "requirements"
    SCORING = "scoring"
    EXPORT = "export"
    RAG = "rag"
    V0 = "v0"
    LOVABLE = "lovable"


ALL_AGENTS: tuple[AgentName, ...] = tuple(AgentName)
"""Every agent a request may name, in canonical order (the defaults first)."""

DEFAULT_AGENTS: tuple[AgentName, ...] = ALL_AGENTS[:7]
"""Who takes part when a request names nobody; sequential mode runs them in
this order. The specialists (requirements … lovable) only join when named:
`rag` without documents, or `v0` for a pricing question, would be noise."""


class CoordinationMode(StrEnum):
    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    COLLABORATIVE = "collaborative"
    DEBATE = "debate"
    ENHANCED_COLLABORATIVE = "enhanced_collaborative"


class MultiAgentRequest(BaseModel):
    """What a client asks for. `user_id` is overwritten by the API with the
    token's `sub`: a client cannot act as someone else.

    The primary agent writes the final response in every mode; the supporting
    agents are the others taking part. Both default per mode (see `modes.py`).
    `context` goes into every agent's prompt; the documents it carries are
    what the `rag` agent searches (shapes in `retrieval.py`).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    product_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    coordination_mode: CoordinationMode = CoordinationMode.COLLABORATIVE
    primary_agent: AgentName | None = None
    supporting_agents: list[AgentName] | None = Field(default=None, max_length=len(ALL_AGENTS))
    context: dict[str, Any] | None = None

    @field_validator("supporting_agents")
    @classmethod
    def _debate_needs_two(
        cls, v: list[AgentName] | None, info: ValidationInfo
    ) -> list[AgentName] | None:
        """A debate needs two debaters besides the judge (the primary)."""
        if v is None or info.data.get("coordination_mode") is not CoordinationMode.DEBATE:
            return v
        judge = info.data.get("primary_agent") or AgentName.SUMMARY
        if len({a for a in v if a != judge}) < 2:
            raise ValueError("debate needs at least two supporting agents besides the primary")
        return v

    @field_validator("context")
    @classmethod
    def _bounded_context(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        """The context goes into every prompt: keep it small and JSON-only."""
        if v is None:
            return v
        if len(v) > MAX_CONTEXT_KEYS:
            raise ValueError(f"context has more than {MAX_CONTEXT_KEYS} keys")
        if _depth(v) > MAX_CONTEXT_DEPTH:
            raise ValueError(f"context is nested more than {MAX_CONTEXT_DEPTH} deep")
        try:
            size = len(json.dumps(v, ensure_ascii=False, allow_nan=False))
            serde.dumps(v)  # as the store writes it: ints within 64 bits, valid Unicode
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "context must be plain JSON: no NaN or Infinity, integers within 64 bits, "
                "valid Unicode") from exc
        if size > MAX_CONTEXT_CHARS:
            raise ValueError(f"context is larger than {MAX_CONTEXT_CHARS} characters as JSON")
        return v


def _depth(value: Any) -> int:
    """How deep lists and objects nest (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            if d <= MAX_CONTEXT_DEPTH:
                stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


class AgentInteraction(_Wire):
    """One exchange: `from_agent` asked `to_agent` (`query`), who answered."""

    from_agent: str
    to_agent: str
    query: str
    response: str
    timestamp: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class MultiAgentResponse(_Wire):
    """The job's result. `metadata.backend` says whether an LLM was involved
    ("openai") or the offline simulator wrote the text ("simulated")."""

    primary_agent: str
    response: str
    agent_interactions: list[AgentInteraction]
    coordination_mode: str
    metadata: dict[str, Any]
    timestamp: datetime
