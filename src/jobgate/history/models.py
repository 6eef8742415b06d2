"""The SQL archive's tables (schema agreed in the team's history-schema note).

One row per job that reached a terminal state, written by the archiver from
the Valkey outbox; `jobgate_job_agents` lists every agent that took part so
analytics can group by agent; `jobgate_documents` is the product knowledge
the `rag` agent searches (its full-text index is dialect-specific and lives
only in the migration, not in the ORM).

Datetimes are timezone-aware UTC on the way in and out on every dialect:
SQLite has no timezone type, so `UtcDateTime` stores naive UTC there and
puts the offset back when reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Document", "JobAgent", "JobRow", "UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime that is always aware UTC in Python, whatever the dialect stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    """A finished job as `/status` and `/result` showed it, plus what analytics needs.

    `queue_wait_s` is the wait before the *first* start (started − created):
    the hash keeps only the first start time, and the first wait is what a
    user felt. `run_time_s` is completed − started (so it includes retries).
    """

    __tablename__ = "jobgate_jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str | None] = mapped_column(String(32))
    primary_agent: Mapped[str | None] = mapped_column(String(32))
    product_id: Mapped[str | None] = mapped_column(String(200))
    request: Mapped[Any] = mapped_column(JsonDoc)
    result: Mapped[Any | None] = mapped_column(JsonDoc)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    # Beyond the agreed schema, so /status answers with the very same body from
    # history: the terminal message, the last progress and step.
    message: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float | None] = mapped_column(Float)
    step: Mapped[Any | None] = mapped_column(JsonDoc)
    attempt: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    queue_wait_s: Mapped[float | None] = mapped_column(Float)
    run_time_s: Mapped[float | None] = mapped_column(Float)
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_jobgate_jobs_owner_created", "owner", "created_at"),
        Index("ix_jobgate_jobs_owner_status_created", "owner", "status", "created_at"),
        Index("ix_jobgate_jobs_completed", "completed_at"),
        Index("ix_jobgate_jobs_mode_completed", "mode", "completed_at"),
        Index("ix_jobgate_jobs_product_completed", "product_id", "completed_at"),
        Index("ix_jobgate_jobs_status_completed", "status", "completed_at"),
    )


class JobAgent(Base):
    """One agent that took part in a job (primary or supporting)."""

    __tablename__ = "jobgate_job_agents"

    job_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("jobgate_jobs.job_id", ondelete="CASCADE"), primary_key=True
    )
    agent: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_jobgate_job_agents_agent", "agent"),)


class Document(Base):
    """A product's knowledge document (owned by the products module)."""

    __tablename__ = "jobgate_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_jobgate_documents_owner_product", "owner", "product_id"),)
