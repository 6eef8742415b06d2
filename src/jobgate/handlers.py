"""The job kinds a worker runs, by name."""

from __future__ import annotations

import asyncio
from typing import Any

from jobgate.agents.handler import KIND as MULTI_AGENT
from jobgate.agents.handler import make_handler
from jobgate.agents.retrieval import BM25Retriever, RequestDocuments
from jobgate.context import JobContext
from jobgate.history.db import History
from jobgate.history.search import ProductKnowledge
from jobgate.settings import Settings
from jobgate.worker import Handler


async def noop(ctx: JobContext, payload: Any) -> Any:
    """Does nothing: the engine's own cost, for benchmarks."""
    return payload


async def sleep(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Sleeps `s` seconds in `steps` steps, reporting progress: a stand-in job."""
    total = float(payload.get("s", 1.0))
    steps = max(int(payload.get("steps", 1)), 1)
    for i in range(steps):
        await asyncio.sleep(total / steps)
        await ctx.progress((i + 1) / steps, f"step {i + 1} of {steps}",
                           {"index": i + 1, "total": steps})
    return {"slept": total, "attempt": ctx.attempt}


def registry(settings: Settings, history: History | None = None) -> dict[str, Handler]:
    """With a history database, the rag agent also searches the product's stored
    documents and earlier results for the job's owner."""
    retriever = None
    if history is not None:
        retriever = BM25Retriever([RequestDocuments(), ProductKnowledge(history)])
    return {
        MULTI_AGENT: make_handler(settings, retriever),
        "noop": noop,
        "sleep": sleep,
    }
