"""A product's knowledge documents: add, list, read, delete, always as their owner.

Every read and delete names the owner and the product: another user's
document is not found, exactly like one that never existed (same error,
same 404). Ids are random UUIDs. The full-text index follows the table by
itself (a generated column on PostgreSQL, triggers on SQLite; migration
0001), so nothing here maintains it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, LargeBinary, cast, delete, func, select

from jobgate.errors import DocumentNotFound, InvalidRequest, RequestTooLarge
from jobgate.history.db import History
from jobgate.history.models import Document

__all__ = ["CONTENT_TYPES", "ContentType", "DocumentRecord", "add_document", "check_document",
           "delete_document", "delete_documents", "get_document", "list_documents"]

ContentType = Literal["text/plain", "text/markdown"]
CONTENT_TYPES: tuple[ContentType, ...] = ("text/plain", "text/markdown")
MAX_TITLE_CHARS = 500
LIST_LIMIT = 1000
MAX_DOCUMENTS_PER_PRODUCT = 1000
"""A user's documents for one product; past it, delete some first (409 would
hide the reason: the answer is a 422 that says so)."""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    product_id: str
    title: str
    content_type: str
    size_bytes: int
    created_at: datetime
    content: str | None = None  # only when one document is read


def check_document(title: str, content: str, max_bytes: int) -> int:
    """The content's size in UTF-8 bytes, or the 4xx saying what is wrong with it."""
    if not content.strip():
        raise InvalidRequest("content is empty: send the document's text")
    if "\x00" in content or "\x00" in title:
        raise InvalidRequest("title and content must not contain NUL characters")
    try:
        size = len(content.encode("utf-8"))
        title.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("title and content must be valid Unicode text") from None
    if size > max_bytes:
        raise RequestTooLarge(
            f"the document is {size} bytes; the limit is {max_bytes} (JOBGATE_MAX_DOCUMENT_BYTES)"
        )
    return size


def _record(d: Document, with_content: bool = False) -> DocumentRecord:
    return DocumentRecord(
        d.id, d.product_id, d.title, d.content_type, len(d.content.encode("utf-8")),
        d.created_at, d.content if with_content else None,
    )


async def add_document(
    history: History, owner: str, product_id: str, title: str, content: str,
    content_type: ContentType, now: datetime,
) -> DocumentRecord:
    """Store one document (checked by `check_document` first)."""
    doc = Document(id=str(uuid.uuid4()), owner=owner, product_id=product_id,
                   title=title, content=content, content_type=content_type, created_at=now)
    async with history.sessions.begin() as session:
        count = select(func.count()).select_from(Document).where(
            Document.owner == owner, Document.product_id == product_id)
        if (await session.scalar(count) or 0) >= MAX_DOCUMENTS_PER_PRODUCT:
            raise InvalidRequest(
                f"this product already has {MAX_DOCUMENTS_PER_PRODUCT} documents of yours; "
                "delete some before adding more")
        session.add(doc)
    return _record(doc)


async def list_documents(
    history: History, owner: str, product_id: str, limit: int = LIST_LIMIT
) -> Sequence[DocumentRecord]:
    """The owner's documents of the product, newest first (without their text)."""
    stmt = (
        select(Document.id, Document.product_id, Document.title, Document.content_type,
               _octets(history.dialect).label("size"), Document.created_at)
        .where(Document.owner == owner, Document.product_id == product_id)
        .order_by(Document.created_at.desc(), Document.id)
        .limit(limit)
    )
    async with history.sessions() as session:
        rows = (await session.execute(stmt)).all()
    return [DocumentRecord(r.id, r.product_id, r.title, r.content_type, int(r.size),
                           r.created_at) for r in rows]


def _octets(dialect: str) -> ColumnElement[int]:
    """The content's size in bytes, computed in SQL (the text is not loaded)."""
    if dialect == "postgresql":
        return func.octet_length(Document.content)
    return func.length(cast(Document.content, LargeBinary))


async def get_document(
    history: History, owner: str, product_id: str, document_id: str
) -> DocumentRecord:
    async with history.sessions() as session:
        doc = await session.scalar(select(Document).where(
            Document.id == document_id, Document.owner == owner,
            Document.product_id == product_id))
    if doc is None:
        raise DocumentNotFound("document not found")
    return _record(doc, with_content=True)


async def delete_document(
    history: History, owner: str, product_id: str, document_id: str
) -> None:
    async with history.sessions.begin() as session:
        result = await session.execute(delete(Document).where(
            Document.id == document_id, Document.owner == owner,
            Document.product_id == product_id))
    if not getattr(result, "rowcount", 0):
        raise DocumentNotFound("document not found")


async def delete_documents(history: History, owner: str, product_id: str) -> int:
    """Every document of the owner's for the product; how many there were."""
    async with history.sessions.begin() as session:
        result = await session.execute(delete(Document).where(
            Document.owner == owner, Document.product_id == product_id))
    return int(getattr(result, "rowcount", 0) or 0)
