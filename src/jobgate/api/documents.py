"""A product's knowledge for the `rag` agent, at /api/multi-agent/products/{product_id}.

Each user keeps their own documents per product: one user never sees,
finds or deletes another's (their ids answer 404, like unknown ones). A
document is text or markdown, sent as JSON (a `text/plain` POST needs no
CORS preflight, so taking one would let any page write with a signed-in
user's cookie); over `JOBGATE_MAX_DOCUMENT_BYTES` it is a 413.

No `from __future__ import annotations` here: FastAPI reads these signatures.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ConfigDict, Field

from jobgate.api.auth import Owner
from jobgate.api.deps import Hist, require_json
from jobgate.api.stats import database_errors
from jobgate.errors import InvalidRequest
from jobgate.history import documents, search
from jobgate.history.documents import ContentType, DocumentRecord
from jobgate.models import ErrorResponse, _Wire

PREFIX = "/api/multi-agent/products/{product_id}"

ProductId = Annotated[str, Path(min_length=1, max_length=200,
                                description="the product, as in `context.product_id`")]
DocumentId = Annotated[str, Path(min_length=1, max_length=64)]


class DocumentIn(_Wire):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=documents.MAX_TITLE_CHARS)
    content: str = Field(description="the text; at most JOBGATE_MAX_DOCUMENT_BYTES in UTF-8")
    content_type: ContentType = "text/plain"


class DocumentOut(_Wire):
    id: str
    product_id: str
    title: str
    content_type: str
    size_bytes: int
    created_at: datetime


class DocumentFull(DocumentOut):
    content: str


class DocumentList(_Wire):
    documents: list[DocumentOut]


class Deleted(_Wire):
    deleted: int


class SearchHit(_Wire):
    source: Literal["document", "result"] = Field(
        description="a stored document, or an earlier completed job of yours for the product")
    id: str = Field(description="the document id, or the job id")
    title: str = Field(description="the document's title, or the job's query")
    score: float = Field(description="relevance; higher is better (only comparable within "
                         "one answer)")
    excerpt: str
    created_at: datetime = Field(description="when the document was added or the job ended")


class SearchResponse(_Wire):
    query: str
    hits: list[SearchHit]


def _text(value: str, name: str) -> str:
    """A path or query string the database can hold, or a 422 naming it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} must be valid Unicode text") from None
    if "\x00" in value:
        raise InvalidRequest(f"{name} must not contain NUL characters")
    return value


def _out(d: DocumentRecord) -> dict[str, Any]:
    return {"id": d.id, "product_id": d.product_id, "title": d.title,
            "content_type": d.content_type, "size_bytes": d.size_bytes,
            "created_at": d.created_at}


async def add(
    product_id: ProductId, body: DocumentIn, owner: Owner, history: Hist,
    request: Request, response: Response,
) -> DocumentOut:
    """Store a document for the product; the rag agent searches it in your jobs
    about this product (`context.product_id`)."""
    product = _text(product_id, "product_id")
    limit = request.app.state.settings.max_document_bytes
    documents.check_document(body.title, body.content, limit)
    with database_errors():
        doc = await documents.add_document(history, owner, product, body.title, body.content,
                                           body.content_type, datetime.now(UTC))
    # quoted by hand: url_for puts the product id in as it is, and a control
    # character in a header would drop the connection
    response.headers["Location"] = (
        f"{PREFIX.format(product_id=quote(product, safe=''))}/documents/{doc.id}")
    return DocumentOut(**_out(doc))


async def list_all(product_id: ProductId, owner: Owner, history: Hist) -> DocumentList:
    """Your documents for the product, newest first (without their text)."""
    with database_errors():
        docs = await documents.list_documents(history, owner, _text(product_id, "product_id"))
    return DocumentList(documents=[DocumentOut(**_out(d)) for d in docs])


async def get_document(
    product_id: ProductId, document_id: DocumentId, owner: Owner, history: Hist
) -> DocumentFull:
    with database_errors():
        d = await documents.get_document(history, owner, _text(product_id, "product_id"),
                                         _text(document_id, "document_id"))
    return DocumentFull(**_out(d), content=d.content or "")


async def delete_one(
    product_id: ProductId, document_id: DocumentId, owner: Owner, history: Hist
) -> Response:
    with database_errors():
        await documents.delete_document(history, owner, _text(product_id, "product_id"),
                                        _text(document_id, "document_id"))
    return Response(status_code=204)


async def delete_all(product_id: ProductId, owner: Owner, history: Hist) -> Deleted:
    """Every one of your documents for the product."""
    with database_errors():
        n = await documents.delete_documents(history, owner, _text(product_id, "product_id"))
    return Deleted(deleted=n)


async def find(
    product_id: ProductId, owner: Owner, history: Hist,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="words to look for")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResponse:
    """Your documents and earlier results for the product that match `q`, ranked
    (PostgreSQL ts_rank, SQLite FTS5 BM25): what the rag agent would start from."""
    with database_errors():
        hits = await search.search_product(history, owner, _text(product_id, "product_id"),
                                           _text(q, "q"), limit=limit)
    return SearchResponse(query=q, hits=[
        SearchHit(source=h.source, id=h.id, title=h.title, score=h.score, excerpt=h.excerpt,
                  created_at=h.created_at) for h in hits])


def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["product knowledge"], responses={
        401: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
        503: {"model": ErrorResponse, "description": "the history database is unavailable"}})
    missing: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse,
                                                      "description": "unknown or not yours"}}
    r.add_api_route("/documents", add, methods=["POST"], status_code=201,
                    dependencies=[Depends(require_json)], response_model=DocumentOut,
                    summary="Add a document", responses={
                        413: {"model": ErrorResponse}, 415: {"model": ErrorResponse}})
    r.add_api_route("/documents", list_all, methods=["GET"], response_model=DocumentList,
                    summary="List your documents")
    r.add_api_route("/documents", delete_all, methods=["DELETE"], response_model=Deleted,
                    summary="Delete all your documents")
    r.add_api_route("/documents/{document_id}", get_document, methods=["GET"],
                    name="get_document", response_model=DocumentFull, responses=missing,
                    summary="Read a document")
    r.add_api_route("/documents/{document_id}", delete_one, methods=["DELETE"],
                    status_code=204, responses=missing, summary="Delete a document")
    r.add_api_route("/search", find, methods=["GET"], response_model=SearchResponse,
                    summary="Search documents and earlier results")
    return r
