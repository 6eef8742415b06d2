"""Analytics by owner, and full-text search over a product's earlier results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

- (owner, completed_at): a user's `/stats` window is on completion time.
- A product's completed results (the request's query and the response) are
  searchable. PostgreSQL: a partial GIN index on the weighted `tsvector`
  expression over the JSONB columns; `history/search.py` repeats the
  expression verbatim so the planner can use the index. SQLite: the text
  lives in `jobgate_result_texts` (an INTEGER PRIMARY KEY, which VACUUM
  keeps, and a unique job id), kept in step with `jobgate_jobs` by
  triggers; an external-content FTS5 table over it gives BM25 ranking, and
  its own triggers keep the index exact. Deleting or pruning a job deletes
  its text through the job id's index, never a scan of the FTS table.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_RESULT_TSV = (
    "setweight(to_tsvector('english', coalesce(request->>'query', '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(result->>'response', '')), 'B')"
)

_PG = [
    f"""CREATE INDEX ix_jobgate_jobs_result_search ON jobgate_jobs USING GIN (({PG_RESULT_TSV}))
        WHERE status = 'completed' AND product_id IS NOT NULL""",
]

_SQLITE_BODY = (
    "coalesce(json_extract(new.request, '$.query'), '') || char(10) || "
    "coalesce(json_extract(new.result, '$.response'), '')"
)
_SEARCHABLE = "new.status = 'completed' AND new.product_id IS NOT NULL"

_SQLITE = [
    """CREATE TABLE jobgate_result_texts (
        id INTEGER PRIMARY KEY,
        job_id VARCHAR(64) NOT NULL UNIQUE,
        body TEXT NOT NULL)""",
    """CREATE VIRTUAL TABLE jobgate_results_fts USING fts5(
        body, content = 'jobgate_result_texts', content_rowid = 'id',
        tokenize = 'porter unicode61')""",
    """CREATE TRIGGER jobgate_result_texts_ai AFTER INSERT ON jobgate_result_texts BEGIN
        INSERT INTO jobgate_results_fts (rowid, body) VALUES (new.id, new.body);
    END""",
    """CREATE TRIGGER jobgate_result_texts_ad AFTER DELETE ON jobgate_result_texts BEGIN
        INSERT INTO jobgate_results_fts (jobgate_results_fts, rowid, body)
        VALUES ('delete', old.id, old.body);
    END""",
    # A REPLACE may have put the row back without a delete trigger: clear first.
    f"""CREATE TRIGGER jobgate_jobs_result_ai AFTER INSERT ON jobgate_jobs BEGIN
        DELETE FROM jobgate_result_texts WHERE job_id = new.job_id;
        INSERT INTO jobgate_result_texts (job_id, body)
        SELECT new.job_id, {_SQLITE_BODY} WHERE {_SEARCHABLE};
    END""",
    f"""CREATE TRIGGER jobgate_jobs_result_au AFTER UPDATE ON jobgate_jobs
        WHEN old.status IS NOT new.status OR old.product_id IS NOT new.product_id
          OR old.request IS NOT new.request OR old.result IS NOT new.result BEGIN
        DELETE FROM jobgate_result_texts WHERE job_id = old.job_id;
        INSERT INTO jobgate_result_texts (job_id, body)
        SELECT new.job_id, {_SQLITE_BODY} WHERE {_SEARCHABLE};
    END""",
    """CREATE TRIGGER jobgate_jobs_result_ad AFTER DELETE ON jobgate_jobs BEGIN
        DELETE FROM jobgate_result_texts WHERE job_id = old.job_id;
    END""",
    # Jobs archived before this migration become searchable too.
    f"""INSERT INTO jobgate_result_texts (job_id, body)
        SELECT new.job_id, {_SQLITE_BODY} FROM jobgate_jobs AS new WHERE {_SEARCHABLE}""",
]


def upgrade() -> None:
    op.create_index("ix_jobgate_jobs_owner_completed", "jobgate_jobs", ["owner", "completed_at"])
    dialect = op.get_bind().dialect.name
    for stmt in {"postgresql": _PG, "sqlite": _SQLITE}.get(dialect, []):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("jobgate_jobs_result_ai", "jobgate_jobs_result_au", "jobgate_jobs_result_ad",
                     "jobgate_result_texts_ai", "jobgate_result_texts_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS jobgate_results_fts")
        op.execute("DROP TABLE IF EXISTS jobgate_result_texts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_jobgate_jobs_result_search")
    op.drop_index("ix_jobgate_jobs_owner_completed", table_name="jobgate_jobs")
