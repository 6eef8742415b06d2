"""History fixtures: `database_url` runs each test on SQLite and on a real PostgreSQL.

The PostgreSQL cluster is one per session (tests/history/pg.py), each test
gets its own fresh database in it; the SQLite database is a file in the
test's tmp dir. Both URLs carry their async driver. Without PostgreSQL
installed the postgresql params skip, saying why (scripts/test.sh installs it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jobgate.history.db import History, open_url, upgrade_url
from tests.history.pg import PgServer, unavailable_reason

DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PgServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty (not migrated) database: `sqlite+aiosqlite://` or `postgresql+asyncpg://`."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
async def history(database_url: str) -> AsyncIterator[History]:
    """The database at `database_url`, migrated to head and opened."""
    await upgrade_url(database_url)
    h = open_url(database_url)
    yield h
    await h.close()
