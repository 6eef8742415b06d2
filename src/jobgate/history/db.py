"""Opening the history database: the one place an engine is made.

`JOBGATE_DATABASE_URL` unset means SQLite in the data dir, so `jobgate up`
needs nothing; a plain `postgresql://` URL gets the asyncpg driver. API
processes, workers (the archiver) and the CLI all come through
`open_history`; schema changes only through `upgrade` (Alembic).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from jobgate.history.nul import json_text
from jobgate.job import next_retry_delay
from jobgate.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "History", "database_url", "ensure_schema", "make_safe", "open_history", "open_url",
    "upgrade", "upgrade_engine", "upgrade_url",
]

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).with_name("migrations")
_SQLITE_BUSY_MS = 10_000  # several processes write one SQLite file: wait, don't fail
_CONNECT_TIMEOUT_S = 5.0
_PG_LOCK = 0x6A6F6267  # "jobg": the advisory lock key of schema upgrades


def database_url(settings: Settings) -> str:
    """The SQLAlchemy async URL for these settings (pure)."""
    if not settings.database_url:
        return f"sqlite+aiosqlite:///{(settings.data_dir / 'history.db').resolve()}"
    url = settings.database_url
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain):]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://"):]
    return url


def make_safe(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(busy_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        _set_pragmas(dbapi_conn, busy_ms)

    return on_connect


def _set_pragmas(dbapi_conn: Any, busy_ms: int) -> None:
    """WAL so readers never block the archiver; foreign keys for ON DELETE CASCADE."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _engine(url: str, sqlite_busy_ms: int = _SQLITE_BUSY_MS) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, json_serializer=json_text)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_busy_ms))
        return engine
    # A connect that hangs (a host that drops packets) fails in seconds, not asyncpg's 60.
    args = {"timeout": _CONNECT_TIMEOUT_S} if parsed.get_driver_name() == "asyncpg" else {}
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                               connect_args=args, json_serializer=json_text)


@dataclass(slots=True)
class History:
    """The engine and session factory of the history database."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def close(self) -> None:
        await self.engine.dispose()


def open_history(settings: Settings) -> History:
    """Open (lazily: no connection until first use) the history database."""
    return open_url(database_url(settings))


def open_url(url: str, *, sqlite_busy_ms: int = _SQLITE_BUSY_MS) -> History:
    """`sqlite_busy_ms`: how long a write waits for another's lock before failing."""
    engine = _engine(url, sqlite_busy_ms)
    return History(engine, async_sessionmaker(engine, expire_on_commit=False))


def _alembic_config() -> Config:
    # Alembic narrates every import and start at INFO ("setup plugin …", "Context
    # impl …"); only its problems matter here, so quiet it before it is imported.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def _upgrade_on(conn: Connection, revision: str) -> None:
    if conn.dialect.name == "postgresql":  # several processes may start at once
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    from alembic import command

    command.upgrade(cfg, revision)


@contextlib.asynccontextmanager
async def _sqlite_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """SQLite has no advisory lock: a lock file beside the database, held while upgrading."""
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    if not db or db == ":memory:":
        yield
        return
    fd = os.open(f"{db}.upgrade-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic, one transaction, one process at a time)."""
    async with _sqlite_lock(engine), engine.begin() as conn:
        await conn.run_sync(_upgrade_on, revision)


async def ensure_schema(history: History, settings: Settings) -> None:
    """Upgrade the schema, retrying with backoff until the database answers.

    The API runs this at start (a request may reach history before any worker's
    archiver has made the tables) and does not wait for it past a few seconds:
    a database that is down must not keep the API from serving Valkey's jobs.
    """
    attempt = 0
    while True:
        try:
            await upgrade_engine(history.engine)
            return
        except Exception as exc:  # the driver's own errors too: keep trying
            attempt += 1
            log.warning("history database not ready; retrying",
                        extra={"error": str(exc)[:300], "attempt": attempt})
            await asyncio.sleep(next_retry_delay(attempt, settings.retry_base_s,
                                                 max(settings.retry_max_s, 1.0)))


async def upgrade_url(url: str, revision: str = "head") -> None:
    engine = _engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def upgrade(settings: Settings, revision: str = "head") -> None:
    await upgrade_url(database_url(settings), revision)


def upgrade_sync(settings: Settings) -> None:
    """For the CLI: `jobgate db upgrade` and the start of `jobgate up`."""
    asyncio.run(upgrade(settings))
