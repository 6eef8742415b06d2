"""Full-text search over a product's knowledge: its documents and earlier results.

Both databases rank in SQL through their own index: PostgreSQL `ts_rank`
over a `tsvector` with a GIN index (title/query weighted above body),
SQLite FTS5 with `bm25()` (its sign flipped, so higher is better
everywhere). The caller's text becomes an OR of its terms (the rag agent's
own tokenizer: stopwords out, plurals folded), so a document sharing any
term is found and the ones sharing more, rarer terms come first. The terms
are letters and digits only, so nothing the caller types is ever syntax.

Every search is scoped to one owner and one product: a user never finds
another user's documents or results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, String, TextualSelect, text
from sqlalchemy.exc import SQLAlchemyError

from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.ranking import Document, tokenize
from jobgate.agents.retrieval import product_of
from jobgate.errors import RetryableError
from jobgate.history.db import History
from jobgate.history.models import UtcDateTime

__all__ = ["Hit", "ProductKnowledge", "fts5_query", "query_terms", "search_documents",
           "search_product", "search_results", "tsquery"]

MAX_QUERY_TERMS = 32
"""A 20,000-character query has thousands of terms; the first distinct ones suffice."""

SNIPPET_WORDS = 24

# The expression of migration 0002's index, verbatim: the planner matches it.
_PG_RESULT_TSV = (
    "setweight(to_tsvector('english', coalesce(request->>'query', '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(result->>'response', '')), 'B')"
)
_PG_HEADLINE = f'MaxFragments=1, MaxWords={SNIPPET_WORDS}, MinWords=8, StartSel="", StopSel=""'


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked match: a document (`id` its id) or an earlier result (`id` the job id)."""

    source: Literal["document", "result"]
    id: str
    title: str
    score: float
    excerpt: str
    created_at: datetime
    text: str = ""  # the whole text, when asked for (the rag agent re-ranks passages)


def query_terms(query: str) -> list[str]:
    """The distinct search terms of `query`, in order, at most `MAX_QUERY_TERMS`."""
    return list(dict.fromkeys(tokenize(query)))[:MAX_QUERY_TERMS]


def tsquery(terms: list[str]) -> str:
    """PostgreSQL `to_tsquery` text matching any of the terms."""
    return " | ".join(terms)


def fts5_query(terms: list[str]) -> str:
    """SQLite FTS5 MATCH text matching any of the terms (each a quoted string)."""
    return " OR ".join(f'"{t}"' for t in terms)


# --------------------------------------------------------------------------
# The statements, per dialect and source. `:q` is the query built above.

_PG_DOCUMENTS = f"""
    SELECT d.id, d.title, d.created_at, r.score,
           CASE WHEN :full THEN d.content ELSE '' END AS body,
           CASE WHEN :full THEN '' ELSE ts_headline('english', d.content,
                to_tsquery('english', :q), '{_PG_HEADLINE}') END AS excerpt
    FROM (SELECT id, ts_rank(search, to_tsquery('english', :q), 1) AS score
          FROM jobgate_documents
          WHERE owner = :owner AND product_id = :product
            AND search @@ to_tsquery('english', :q)
          ORDER BY score DESC, created_at DESC, id LIMIT :limit) AS r
    JOIN jobgate_documents d ON d.id = r.id
    ORDER BY r.score DESC, d.created_at DESC, d.id"""

_PG_RESULTS = f"""
    SELECT j.job_id AS id, coalesce(j.request->>'query', '') AS title,
           j.completed_at AS created_at, r.score,
           CASE WHEN :full THEN coalesce(j.result->>'response', '') ELSE '' END AS body,
           CASE WHEN :full THEN '' ELSE ts_headline('english',
                coalesce(j.result->>'response', ''), to_tsquery('english', :q),
                '{_PG_HEADLINE}') END AS excerpt
    FROM (SELECT job_id, ts_rank({_PG_RESULT_TSV}, to_tsquery('english', :q), 1) AS score
          FROM jobgate_jobs
          WHERE owner = :owner AND product_id = :product AND status = 'completed'
            AND ({_PG_RESULT_TSV}) @@ to_tsquery('english', :q)
          ORDER BY score DESC, completed_at DESC, job_id LIMIT :limit) AS r
    JOIN jobgate_jobs j ON j.job_id = r.job_id
    ORDER BY r.score DESC, j.completed_at DESC, j.job_id"""

# CROSS JOIN fixes the order: the FTS index first, then the owner's rows by key.
_SQLITE_DOCUMENTS = f"""
    SELECT d.id, d.title, d.created_at, -bm25(jobgate_documents_fts, 0.0, 2.0, 1.0) AS score,
           CASE WHEN :full THEN d.content ELSE '' END AS body,
           CASE WHEN :full THEN '' ELSE
                snippet(jobgate_documents_fts, 2, '', '', '…', {SNIPPET_WORDS}) END AS excerpt
    FROM jobgate_documents_fts CROSS JOIN jobgate_documents AS d
    WHERE jobgate_documents_fts MATCH :q AND d.id = jobgate_documents_fts.doc_id
      AND d.owner = :owner AND d.product_id = :product
    ORDER BY score DESC, d.created_at DESC, d.id LIMIT :limit"""

_SQLITE_RESULTS = f"""
    SELECT j.job_id AS id, coalesce(json_extract(j.request, '$.query'), '') AS title,
           j.completed_at AS created_at, -bm25(jobgate_results_fts) AS score,
           CASE WHEN :full THEN coalesce(json_extract(j.result, '$.response'), '')
                ELSE '' END AS body,
           CASE WHEN :full THEN '' ELSE
                snippet(jobgate_results_fts, 0, '', '', '…', {SNIPPET_WORDS}) END AS excerpt
    FROM jobgate_results_fts
    CROSS JOIN jobgate_result_texts AS t
    CROSS JOIN jobgate_jobs AS j
    WHERE jobgate_results_fts MATCH :q AND t.id = jobgate_results_fts.rowid
      AND j.job_id = t.job_id AND j.owner = :owner AND j.product_id = :product
      AND j.status = 'completed'
    ORDER BY score DESC, j.completed_at DESC, j.job_id LIMIT :limit"""

_STATEMENTS: dict[tuple[str, str], str] = {
    ("postgresql", "document"): _PG_DOCUMENTS,
    ("postgresql", "result"): _PG_RESULTS,
    ("sqlite", "document"): _SQLITE_DOCUMENTS,
    ("sqlite", "result"): _SQLITE_RESULTS,
}


def statement(dialect: str, source: Literal["document", "result"]) -> TextualSelect:
    """The search statement, its columns typed (datetimes come back aware UTC)."""
    return text(_STATEMENTS[(dialect, source)]).columns(
        id=String(), title=String(), created_at=UtcDateTime(), score=Float(), body=String(),
        excerpt=String(),
    )


async def _search(
    history: History, source: Literal["document", "result"], owner: str, product_id: str,
    query: str, limit: int, full: bool,
) -> list[Hit]:
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    dialect = history.dialect
    q = tsquery(terms) if dialect == "postgresql" else fts5_query(terms)
    params: dict[str, Any] = {"q": q, "owner": owner, "product": product_id, "limit": limit,
                              "full": full}
    async with history.sessions() as session:
        rows = (await session.execute(statement(dialect, source), params)).all()
    return [
        Hit(source, r.id, r.title or "", float(r.score), (r.excerpt or "").strip(),
            r.created_at, r.body or "")
        for r in rows
    ]


async def search_documents(
    history: History, owner: str, product_id: str, query: str, *, limit: int = 10,
    full: bool = False,
) -> list[Hit]:
    """The owner's documents of the product that match `query`, best first."""
    return await _search(history, "document", owner, product_id, query, limit, full)


async def search_results(
    history: History, owner: str, product_id: str, query: str, *, limit: int = 10,
    full: bool = False,
) -> list[Hit]:
    """The owner's earlier completed results for the product that match, best first."""
    return await _search(history, "result", owner, product_id, query, limit, full)


async def search_product(
    history: History, owner: str, product_id: str, query: str, *, limit: int = 10,
    full: bool = False,
) -> list[Hit]:
    """Documents and earlier results together, best first (at most `limit`)."""
    docs = await search_documents(history, owner, product_id, query, limit=limit, full=full)
    results = await search_results(history, owner, product_id, query, limit=limit, full=full)
    return sorted([*docs, *results], key=lambda h: -h.score)[:limit]


# --------------------------------------------------------------------------
# The rag agent's source: what the product knows, for the job's owner


class ProductKnowledge:
    """A `DocumentSource` (agents/retrieval.py): the owner's documents for the
    request's product and the product's earlier completed results.

    The database picks the candidates (full-text, ranked); the retriever then
    ranks their paragraphs together with the request's own documents, so the
    passages and excerpts read the same whatever their source. Ids are
    `product:<document id>` and `job:<job id>`. Without an owner or a
    product there is nothing to search: never anyone else's knowledge.
    """

    name = "product"

    def __init__(self, history: History, documents: int = 8, results: int = 4) -> None:
        self.history = history
        self.max_documents = documents
        self.max_results = results

    async def documents(self, request: MultiAgentRequest) -> Sequence[Document]:
        owner, product = request.user_id, product_of(request)
        if not owner or not product:
            return []
        try:
            docs = await search_documents(self.history, owner, product, request.query,
                                          limit=self.max_documents, full=True)
            results = await search_results(self.history, owner, product, request.query,
                                           limit=self.max_results, full=True)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise RetryableError(
                f"the product's documents could not be read ({type(exc).__name__}); "
                "retrying", code="history_unavailable") from exc
        return [
            *(Document(f"product:{h.id}", h.text, h.title) for h in docs),
            *(Document(f"job:{h.id}", h.text, f"earlier result: {_clip(h.title, 80)}")
              for h in results),
        ]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
