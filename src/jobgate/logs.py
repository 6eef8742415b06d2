"""Structured JSON logs: one object a line, with job_id, attempt and owner where known.

Request bodies and secrets are never passed to a logger; callers log ids.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from jobgate import serde

_FIELDS = ("job_id", "attempt", "owner", "kind", "worker", "state", "code")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for f in _FIELDS:
            v = getattr(record, f, None)
            if v is not None:
                out[f] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return serde.dumps(out)


def setup(level: str = "INFO", json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json:
        handler.setFormatter(JsonFormatter())
        logging.Formatter.converter = __import__("time").gmtime
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log request bodies or SQL parameters (a job's query and
    # result) at DEBUG: a debug log must never carry what users sent.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiosqlite", "asyncpg",
                  "sqlalchemy", "alembic", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
