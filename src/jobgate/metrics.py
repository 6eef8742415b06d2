"""Prometheus metrics, one registry per process (API and in-process workers share it)."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram

JOBS_SUBMITTED = Counter("jobgate_jobs_submitted", "Jobs accepted", ["kind", "priority"])
JOBS_FINISHED = Counter("jobgate_jobs_finished", "Jobs ended", ["kind", "state"])
JOBS_RETRIED = Counter("jobgate_jobs_retried", "Attempts ended with a retry", ["kind"])
JOBS_RECLAIMED = Counter("jobgate_jobs_reclaimed", "Jobs taken back from a lost worker")
JOB_DURATION = Histogram(
    "jobgate_job_duration_seconds", "Run time of one attempt", ["kind"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800),
)
QUEUE_WAIT = Histogram(
    "jobgate_job_queue_wait_seconds", "Submit to first start", ["kind"],
    buckets=(0.001, 0.005, 0.02, 0.1, 0.5, 1, 5, 15, 60, 300),
)
QUEUE_DEPTH = Gauge("jobgate_queue_depth", "Pending jobs by priority", ["priority"])
JOBS_RUNNING = Gauge("jobgate_jobs_running", "Jobs holding a lease (all workers)")
WAITING_CLIENTS = Gauge("jobgate_waiting_clients", "Clients waiting on this process", ["channel"])
HTTP_REQUESTS = Counter(
    "jobgate_http_requests", "HTTP requests", ["route", "method", "code"]
)


@functools.lru_cache(maxsize=1024)
def http_requests(route: str, method: str, code: int) -> Counter:
    """The labelled child, looked up once: `labels()` takes a lock and checks
    every value, a cost every request would pay again."""
    return HTTP_REQUESTS.labels(route, method, str(code))


WAITING_BY_CHANNEL = {
    c: WAITING_CLIENTS.labels(c) for c in ("sse", "long_poll", "poll", "websocket")
}
WS_CLOSED = Counter(
    "jobgate_ws_closed", "WebSockets the server closed, by close code", ["code"]
)
VALKEY_MEMORY = Gauge("jobgate_valkey_memory_bytes", "used_memory reported by Valkey")

# The SQL archive (history/archiver.py): the outbox waiting in Valkey and how far behind.
ARCHIVE_LAG = Gauge(
    "jobgate_archive_lag_seconds", "Age of the oldest terminal job not yet archived (0: none)"
)
OUTBOX_LENGTH = Gauge("jobgate_archive_outbox_length", "Terminal jobs waiting to be archived")
OUTBOX_OVER_LIMIT = Gauge(
    "jobgate_archive_outbox_over_limit",
    "1 while the outbox is past JOBGATE_ARCHIVE_OUTBOX_ALERT (jobs are kept; alert on it)",
)
ARCHIVED = Counter("jobgate_archived", "Jobs written to the history database")
DATABASE_ERRORS = Counter(
    "jobgate_database_errors", "History database operations that failed", ["operation"]
)
ARCHIVE_MISSING = Counter(
    "jobgate_archive_missing", "Outbox entries whose job was gone from Valkey (not archivable)"
)
HISTORY_PRUNED = Counter("jobgate_history_pruned", "Jobs pruned from history after retention")
