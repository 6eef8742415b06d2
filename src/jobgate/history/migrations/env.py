"""Alembic environment: runs on the connection `jobgate.history.db.upgrade` hands in.

Kept connection-driven so one code path serves SQLite and PostgreSQL and the
async engines (Alembic itself is synchronous; `run_sync` bridges).
"""

from __future__ import annotations

from alembic import context

from jobgate.history.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `jobgate db upgrade`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
