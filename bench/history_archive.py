"""Archive throughput: jobs per second into the history database.

Two figures per database:
- `upsert`: `repo.upsert_jobs` in batches of `JOBGATE_ARCHIVE_BATCH` (200)
  with multi-agent-sized rows (a ~0.4 KB request, a ~8 KB result, three
  agents), first as new rows, then the same rows again (the idempotent
  re-archive of a batch whose outbox removal was lost).
- `archiver`: the real `Archiver.drain()` over an outbox of finished
  multi-agent jobs in an embedded Valkey: outbox reads, row building,
  upsert, and the TTL start per job.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobgate.agents.handler import KIND
from jobgate.context import JobContext
from jobgate.embedded import EmbeddedValkey
from jobgate.history import repo
from jobgate.history.archiver import Archiver
from jobgate.history.db import open_url, upgrade_url
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.worker import Worker

REQUEST = {
    "query": "Plan the launch of a dog-walking app for busy owners in Berlin",
    "coordination_mode": "collaborative",
    "primary_agent": "summary",
    "supporting_agents": ["research", "rag"],
    "context": {"product_id": "prod-1", "form_data": {
        "problem": "Owners cannot book a walker at short notice.",
        "budget": "Owners pay 15 to 25 EUR per walk today."}},
}
_PARAGRAPH = ("The research agent weighed the market, the strategy agent the channels, and "
              "the summary brings them together with figures and risks to watch. ") * 6


def result_of(i: int) -> dict[str, Any]:
    """About 8 KB of JSON, like a collaborative job's response."""
    now = datetime.now(UTC).isoformat()
    return {
        "primary_agent": "summary", "response": f"Result {i}. {_PARAGRAPH}",
        "coordination_mode": "collaborative", "timestamp": now,
        "agent_interactions": [
            {"from_agent": "coordinator", "to_agent": a, "query": "task", "response": _PARAGRAPH,
             "timestamp": now, "metadata": {"index": k}}
            for k, a in enumerate(["research", "rag", "summary", "research", "summary"])],
        "metadata": {"backend": "simulated", "steps": 5},
    }


def row_of(i: int, prefix: str) -> tuple[dict[str, Any], list[str]]:
    now = datetime.now(UTC)
    return {
        "job_id": f"{prefix}{i}", "kind": KIND, "owner": f"user-{i % 100}",
        "status": "completed", "priority": "normal", "mode": "collaborative",
        "primary_agent": "summary", "product_id": "prod-1", "request": REQUEST,
        "result": result_of(i), "error_code": None, "error_detail": None, "message": "done",
        "progress": 1.0, "step": None, "attempt": 1, "created_at": now, "started_at": now,
        "completed_at": now, "queue_wait_s": 0.1, "run_time_s": 12.5, "archived_at": now,
    }, ["summary", "research", "rag"]


async def upsert_rate(url: str, n: int, batch: int) -> dict[str, float]:
    """New rows per second, then the same rows again."""
    await upgrade_url(url)
    history = open_url(url)
    prefix = f"u{uuid.uuid4().hex[:6]}-"
    rows = [row_of(i, prefix) for i in range(n)]
    try:
        out: dict[str, float] = {"jobs": n, "batch": batch}
        for label in ("insert_jobs_per_s", "reupsert_jobs_per_s"):
            t0 = time.perf_counter()
            for k in range(0, n, batch):
                await repo.upsert_jobs(history, rows[k:k + batch])
            out[label] = round(n / (time.perf_counter() - t0), 1)
    finally:
        await history.close()
    return out


async def _finished(ctx: JobContext, payload: Any) -> dict[str, Any]:
    return result_of(0)


async def archiver_rate(url: str, n: int, tmp: Path) -> dict[str, float]:
    """The real archiver draining `n` finished multi-agent jobs out of Valkey."""
    await upgrade_url(url)
    valkey = EmbeddedValkey(tmp / "valkey", persistence=False)
    valkey.start()
    settings = Settings(redis_url=valkey.url, namespace=f"bh-{uuid.uuid4().hex[:6]}",
                        data_dir=tmp, database_url=url, auth_secret="bench-" + "x" * 32,
                        worker_poll_s=0.2, max_active_jobs_per_user=1_000_000)
    svc = await Services.open(settings)
    history = open_url(url)
    try:
        for i in range(n):
            await svc.store.enqueue(KIND, f"user-{i % 100}", {**REQUEST, "user_id": "u"})
        w = Worker(svc.store, {KIND: _finished}, settings, concurrency=32, burst=True)
        await w.run()
        archiver = Archiver(svc.store, settings, history)
        t0 = time.perf_counter()
        done = await archiver.drain()
        seconds = time.perf_counter() - t0
    finally:
        await history.close()
        await svc.close()
        valkey.stop()
    return {"jobs": done, "batch": settings.archive_batch,
            "jobs_per_s": round(done / seconds, 1)}
