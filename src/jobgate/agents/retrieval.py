"""What the `rag` agent reads: documents, where they come from, and the passages.

Retrieval is pluggable. A `Retriever` answers (request, query) with a
`Retrieval`: how many documents it searched and the passages it chose. The
default, `BM25Retriever`, gathers documents from its `DocumentSource`s and
ranks their paragraphs with `ranking.rank`. Its sources: the request itself
(`RequestDocuments`) and, in a worker with a history database, the
product's stored documents and earlier results for the job's owner
(`history.search.ProductKnowledge`, found by full-text search in SQL), added
without touching the pipeline. The product is the request's `product_id`,
else `context.product_id` (`product_of`).

Documents a request carries in `context` (all optional, mixed freely):

- `context.documents`: a list whose items are a string (the text) or an
  object `{"id"?, "title"? | "name"?, "text" | "content"}`; or an object
  mapping an id to such a string or object. Items without text are skipped;
  an item without an id is cited as `documents[i]`.
- `context.form_data`: every non-empty string in it, however nested, is a
  document cited by its path (`form_data.problem`, `form_data.features[0]`),
  titled by its field name: a form's answers are what a phase is about.
- any other string in `context` of three words or more, cited as
  `context.<path>`; shorter ones (`product_id`, `phase_name`) are labels,
  not passages.

The context is bounded by the request model (20,000 characters as JSON), so
ranking it is a few milliseconds of pure work on the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jobgate.agents.models import MultiAgentRequest
from jobgate.agents.ranking import TOP_K, Document, Passage, rank

MIN_CONTEXT_WORDS = 3
"""A string elsewhere in `context` shorter than this is a label, not a text."""

INLINE_RANK_CHARS = 100_000
"""Above this much text (stored documents: up to 8 × 200 kB) ranking takes
a second of CPU; it runs in a thread so the worker's loop keeps its leases."""

_RESERVED = ("documents", "form_data")


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The outcome of one search: the passages chosen and what was searched."""

    query: str
    documents: int
    passages: tuple[Passage, ...]
    sources: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.passages)

    def summary(self) -> dict[str, Any]:
        """JSON-ready account of the search, for the response's metadata."""
        return {
            "sources": list(self.sources),
            "documents": self.documents,
            "passages": [
                {
                    "ref": n,
                    "document_id": p.document_id,
                    "title": p.title,
                    "chunk": p.chunk,
                    "score": p.score,
                    "excerpt": p.excerpt,
                }
                for n, p in enumerate(self.passages, start=1)
            ],
        }


class Retriever(Protocol):
    """Finds the passages relevant to a query for one request."""

    name: str

    async def retrieve(self, request: MultiAgentRequest, query: str) -> Retrieval: ...


class DocumentSource(Protocol):
    """Supplies documents for a request (its own context, a product's store, …).

    Ids should be unique across sources: a source other than the request
    prefixes its own (e.g. `product:<id>`).
    """

    name: str

    async def documents(self, request: MultiAgentRequest) -> Sequence[Document]: ...


class RequestDocuments:
    """The documents the request itself carries in `context` (see the module doc)."""

    name = "request"

    async def documents(self, request: MultiAgentRequest) -> Sequence[Document]:
        return documents_from_context(request.context)


class BM25Retriever:
    """Ranks the paragraphs of every source's documents with BM25; the default."""

    name = "bm25"

    def __init__(self, sources: Sequence[DocumentSource] | None = None, limit: int = TOP_K):
        self.sources: tuple[DocumentSource, ...] = (
            tuple(sources) if sources is not None else (RequestDocuments(),)
        )
        self.limit = limit

    async def retrieve(self, request: MultiAgentRequest, query: str) -> Retrieval:
        docs: list[Document] = []
        for source in self.sources:
            docs.extend(await source.documents(request))
        if sum(len(d.text) for d in docs) > INLINE_RANK_CHARS:
            # stored documents can be large: rank off the loop so heartbeats go on
            passages = await asyncio.to_thread(rank, query, docs, limit=self.limit)
        else:
            passages = rank(query, docs, limit=self.limit)
        return Retrieval(query, len(docs), tuple(passages), tuple(s.name for s in self.sources))


def default_retriever() -> Retriever:
    return BM25Retriever()


def product_of(request: MultiAgentRequest) -> str | None:
    """The product a request is about: its `product_id`, else `context.product_id`
    (the history archive files the job under the same one)."""
    if request.product_id:
        return request.product_id
    value = (request.context or {}).get("product_id")
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------
# Documents in a request's context


def documents_from_context(context: Mapping[str, Any] | None) -> list[Document]:
    """Every document in `context`, in a stable order: listed, form, other text."""
    if not context:
        return []
    others = {k: v for k, v in context.items() if k not in _RESERVED}
    return [
        *_listed(context.get("documents")),
        *(Document(f"form_data{path}", text, _field(path))
          for path, text in _strings(context.get("form_data"), "") if text.strip()),
        *(Document(f"context{path}", text, _field(path))
          for path, text in _strings(others, "") if len(text.split()) >= MIN_CONTEXT_WORDS),
    ]


def _listed(value: Any) -> Iterator[Document]:
    if isinstance(value, list):
        items: list[tuple[str, Any]] = [(f"documents[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    else:
        return
    for fallback_id, item in items:
        doc = _document(fallback_id, item)
        if doc is not None:
            yield doc


def _document(fallback_id: str, item: Any) -> Document | None:
    if isinstance(item, str):
        return Document(fallback_id, item) if item.strip() else None
    if not isinstance(item, dict):
        return None
    text = next((t for k in ("text", "content") if isinstance(t := item.get(k), str)), "")
    if not text.strip():
        return None
    ident = item.get("id")
    title = next((t for k in ("title", "name") if isinstance(t := item.get(k), str) and t), None)
    has_id = isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident)
    return Document(str(ident) if has_id else fallback_id, text, title)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every string under `value`, depth first, in order."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _field(path: str) -> str | None:
    """The field name a path ends in, readable: `.target_users[0]` → "target users"."""
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return name.replace("_", " ").strip() or None


# --------------------------------------------------------------------------
# How passages read in prompts and in the rag agent's output


def _cite(p: Passage) -> str:
    title = f" “{p.title}”" if p.title else ""
    return f"document {p.document_id}{title}"


def passages_block(retrieval: Retrieval, heading: str) -> str:
    """The passages in full, numbered for citation, for an agent's prompt."""
    if not retrieval.found:
        return f"{heading}\n{nothing_found(retrieval)}"
    lines = [heading]
    for n, p in enumerate(retrieval.passages, start=1):
        lines.append(f"[{n}] ({_cite(p)}) {p.text}")
    return "\n".join(lines)


def sources_note(retrieval: Retrieval) -> str:
    """What the rag agent's output ends with: each passage it used, id and excerpt."""
    count = len(retrieval.passages)
    docs = _documents(retrieval.documents)
    lines = [f"Passages used ({count} from the {docs} provided):"]
    lines += [f"[{n}] {_cite(p)}: “{p.excerpt}”" for n, p in enumerate(retrieval.passages, 1)]
    return "\n".join(lines)


def nothing_found(retrieval: Retrieval) -> str:
    """The plain statement the rag agent makes instead of inventing passages."""
    line = f"No relevant passages found in the {_documents(retrieval.documents)} provided"
    line += f" for “{_clip(retrieval.query, 120)}”."
    if retrieval.documents == 0:
        line += (" (Send documents in `context.documents` or `context.form_data`, or store"
                 " them for the product at /api/multi-agent/products/{product_id}/documents.)")
    return line


def _documents(n: int) -> str:
    return f"{n} document" if n == 1 else f"{n} documents"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
