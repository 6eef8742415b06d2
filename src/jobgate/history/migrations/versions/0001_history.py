"""Job history, agents per job, product documents with full-text search.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Full-text search is dialect-specific: PostgreSQL gets a generated, weighted
`tsvector` column with a GIN index; SQLite an FTS5 table (BM25 ranking)
holding the document id unindexed, kept in step by triggers. The id is used
rather than SQLite's implicit rowid, which VACUUM may renumber.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def _jobs() -> None:
    op.create_table(
        "jobgate_jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(32), nullable=True),
        sa.Column("primary_agent", sa.String(32), nullable=True),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("request", _JSON, nullable=False),
        sa.Column("result", _JSON, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("step", _JSON, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=False),
        sa.Column("queue_wait_s", sa.Float(), nullable=True),
        sa.Column("run_time_s", sa.Float(), nullable=True),
        sa.Column("archived_at", _TS, nullable=False),
    )
    op.create_index("ix_jobgate_jobs_owner_created", "jobgate_jobs", ["owner", "created_at"])
    op.create_index(
        "ix_jobgate_jobs_owner_status_created", "jobgate_jobs", ["owner", "status", "created_at"]
    )
    op.create_index("ix_jobgate_jobs_completed", "jobgate_jobs", ["completed_at"])
    op.create_index("ix_jobgate_jobs_mode_completed", "jobgate_jobs", ["mode", "completed_at"])
    op.create_index(
        "ix_jobgate_jobs_product_completed", "jobgate_jobs", ["product_id", "completed_at"]
    )
    op.create_index("ix_jobgate_jobs_status_completed", "jobgate_jobs", ["status", "completed_at"])
    op.create_table(
        "jobgate_job_agents",
        sa.Column(
            "job_id",
            sa.String(64),
            sa.ForeignKey("jobgate_jobs.job_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("agent", sa.String(32), primary_key=True),
    )
    op.create_index("ix_jobgate_job_agents_agent", "jobgate_job_agents", ["agent"])


def _documents() -> None:
    op.create_table(
        "jobgate_documents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_jobgate_documents_owner_product", "jobgate_documents", ["owner", "product_id"]
    )


_PG_FTS = [
    """ALTER TABLE jobgate_documents ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(content, '')), 'B')) STORED""",
    "CREATE INDEX ix_jobgate_documents_search ON jobgate_documents USING GIN (search)",
]

_SQLITE_FTS = [
    """CREATE VIRTUAL TABLE jobgate_documents_fts USING fts5(
        doc_id UNINDEXED, title, content, tokenize = 'porter unicode61')""",
    """CREATE TRIGGER jobgate_documents_ai AFTER INSERT ON jobgate_documents BEGIN
        INSERT INTO jobgate_documents_fts (doc_id, title, content)
        VALUES (new.id, new.title, new.content);
    END""",
    """CREATE TRIGGER jobgate_documents_ad AFTER DELETE ON jobgate_documents BEGIN
        DELETE FROM jobgate_documents_fts WHERE doc_id = old.id;
    END""",
    """CREATE TRIGGER jobgate_documents_au AFTER UPDATE ON jobgate_documents BEGIN
        DELETE FROM jobgate_documents_fts WHERE doc_id = old.id;
        INSERT INTO jobgate_documents_fts (doc_id, title, content)
        VALUES (new.id, new.title, new.content);
    END""",
]


def upgrade() -> None:
    _jobs()
    _documents()
    dialect = op.get_bind().dialect.name
    for stmt in {"postgresql": _PG_FTS, "sqlite": _SQLITE_FTS}.get(dialect, []):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("jobgate_documents_ai", "jobgate_documents_ad", "jobgate_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS jobgate_documents_fts")
    op.drop_table("jobgate_documents")
    op.drop_table("jobgate_job_agents")
    op.drop_table("jobgate_jobs")
