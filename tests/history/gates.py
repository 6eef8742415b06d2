"""Ways a test makes the history database refuse writes, and lets it go again.

PostgreSQL: the server itself is stopped (fast shutdown) and started again,
or a transaction holds `LOCK TABLE jobgate_jobs IN EXCLUSIVE MODE` (readers
pass, writers wait). SQLite has no server to stop: a connection holding
`BEGIN EXCLUSIVE` is its "down" (writers get `database is locked`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from jobgate.history.db import History
from tests.history.pg import PgServer


@contextlib.asynccontextmanager
async def sqlite_locked(url: str) -> AsyncIterator[None]:
    path = make_url(url).database
    assert path
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        conn.rollback()
        conn.close()


@contextlib.asynccontextmanager
async def pg_table_locked(history: History) -> AsyncIterator[None]:
    async with history.engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text("LOCK TABLE jobgate_jobs IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await tx.rollback()


@contextlib.asynccontextmanager
async def writes_refused(url: str, history: History, pg: PgServer | None,
                         stop_server: bool) -> AsyncIterator[None]:
    """The database refuses the archiver's writes inside the block."""
    if pg is None:
        async with sqlite_locked(url):
            yield
    elif stop_server:
        pg.stop()
        try:
            yield
        finally:
            pg.start()
    else:
        async with pg_table_locked(history):
            yield
