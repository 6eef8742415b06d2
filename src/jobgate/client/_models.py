"""What the SDK needs of the multi-agent workload, without the workload.

`jobgate.agents` is the server's (13 modules, an LLM client, sealing with
`cryptography`); a client install does not have it. The response is a plain
wire model, so the SDK keeps its own copy here, and the agent and mode names
as plain tuples for the CLI's help. tests/client/test_footprint.py checks
each against `jobgate.agents.models`, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from jobgate.models import _Wire

AGENT_NAMES: tuple[str, ...] = (
    "research", "analysis", "ideation", "strategy", "validation", "prd_authoring", "summary",
    "requirements", "scoring", "export", "rag", "v0", "lovable",
)
COORDINATION_MODES: tuple[str, ...] = (
    "sequential", "parallel", "collaborative", "debate", "enhanced_collaborative",
)


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
