"""The multi-agent workload: the app's thirteen role agents, five coordination modes.

What the rest of jobgate uses:

- `KIND`, `make_handler(settings)`: register the handler with the worker;
- `estimate_seconds(request, settings)`: the API's `estimated_completion_seconds`;
- `MultiAgentRequest`, `MultiAgentResponse`: the wire models;
- `with_sealed_key(payload, api_key, secret)`: a user's own LLM key, sealed
  into the job payload (see `credentials.py`);
- `Retriever`, `DocumentSource`, `BM25Retriever`: where the `rag` agent's
  passages come from (see `retrieval.py`); pass a retriever with more
  sources to `make_handler` to search more than the request's documents.
"""

from __future__ import annotations

from jobgate.agents.credentials import LLM_KEY_FIELD, seal, unseal, with_sealed_key
from jobgate.agents.handler import (
    KIND,
    estimate_seconds,
    make_handler,
    parse_request,
    run_multi_agent,
)
from jobgate.agents.models import (
    ALL_AGENTS,
    DEFAULT_AGENTS,
    AgentInteraction,
    AgentName,
    CoordinationMode,
    MultiAgentRequest,
    MultiAgentResponse,
)
from jobgate.agents.modes import PlannedStep, plan, plan_steps
from jobgate.agents.pipeline import PipelineCancelled, run_pipeline
from jobgate.agents.ranking import Document, Passage
from jobgate.agents.reporting import JobReporter
from jobgate.agents.retrieval import (
    BM25Retriever,
    DocumentSource,
    RequestDocuments,
    Retrieval,
    Retriever,
)

__all__ = [
    "ALL_AGENTS",
    "DEFAULT_AGENTS",
    "KIND",
    "LLM_KEY_FIELD",
    "AgentInteraction",
    "AgentName",
    "BM25Retriever",
    "CoordinationMode",
    "Document",
    "DocumentSource",
    "JobReporter",
    "MultiAgentRequest",
    "MultiAgentResponse",
    "Passage",
    "PipelineCancelled",
    "PlannedStep",
    "RequestDocuments",
    "Retrieval",
    "Retriever",
    "estimate_seconds",
    "make_handler",
    "parse_request",
    "plan",
    "plan_steps",
    "run_multi_agent",
    "run_pipeline",
    "seal",
    "unseal",
    "with_sealed_key",
]
