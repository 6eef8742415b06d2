"""Lexical ranking for the `rag` agent: paragraph chunks scored with BM25.

Pure functions over plain data, so retrieval is exact and testable without
a model, a database or an embedding service: the passages the rag agent
shows are the ones these functions chose, whatever LLM writes around them.

- `chunk_text` cuts a document into paragraph-sized chunks (blank lines
  first, then sentence ends, then spaces; tiny pieces such as headings are
  joined to what follows).
- `tokenize` lowercases, splits on letters and digits, drops common English
  words and folds simple plurals ("users" and "user" match).
- `rank` scores every chunk of every document against the query with Okapi
  BM25 and keeps the best few. A chunk counts as relevant when it shares at
  least one query term and scores within `MIN_RELATIVE_SCORE` of the best
  one; nothing shared means nothing relevant, never a guess.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHUNK_CHARS = 800
"""Longest chunk; about one paragraph, so a passage is one idea, quotable."""

MIN_CHUNK_CHARS = 160
"""A piece shorter than this (a heading, a one-liner) joins the next one."""

TOP_K = 5
EXCERPT_CHARS = 240
MIN_RELATIVE_SCORE = 0.3
K1 = 1.5
B = 0.75

_TOKEN = re.compile(r"[^\W_]+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")

_STOPWORDS_TEXT = """a about above after again all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during
    each few for from further had has have having he her here hers him his how i if
    in into is it its itself just let me more most my no nor not now of off on once
    only or other our ours out over own please same she should so some such than
    that the their theirs them then there these they this those through to too
    under until up us very was we were what when where which while who whom why
    will with would you your yours"""

STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Document:
    """A text the rag agent may quote; `id` is what its output cites."""

    id: str
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """One ranked chunk of a document. `chunk` counts from 0 within the document."""

    document_id: str
    title: str | None
    chunk: int
    text: str
    score: float
    excerpt: str


def tokenize(text: str) -> list[str]:
    """The terms of `text`: lowercase words and numbers, stopwords out, plurals folded."""
    return [_fold(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def _fold(term: str) -> str:
    if len(term) > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def _squash(text: str) -> str:
    return " ".join(text.split())


def _hard_split(text: str, max_chars: int) -> list[str]:
    """Cut at the last space before `max_chars` (or at it, for one huge word)."""
    out: list[str] = []
    while len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*out, text] if text else out


def _pack(pieces: Iterable[str], max_chars: int, min_chars: int) -> list[str]:
    """Join neighbours while the chunk so far is short and the join still fits."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) < min_chars and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks


def _sentences(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    parts = [p for s in _SENTENCE_END.split(paragraph) for p in _hard_split(s, max_chars)]
    return _pack(parts, max_chars, max_chars)


def chunk_text(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """`text` as paragraph-sized chunks of at most `max_chars`, whitespace squashed."""
    paragraphs = [_squash(p) for p in _PARAGRAPHS.split(text)]
    pieces = [s for p in paragraphs if p for s in _sentences(p, max_chars)]
    return _pack(pieces, max_chars, min(MIN_CHUNK_CHARS, max_chars))


def excerpt(text: str, terms: Iterable[str], limit: int = EXCERPT_CHARS) -> str:
    """A short quote of `text`, from the sentence with the most query terms
    (the first such sentence on a tie; the start when none has any)."""
    wanted = set(terms)
    starts = [0, *(m.end() for m in _SENTENCE_END.finditer(text))]
    ends = [*starts[1:], len(text)]
    spans = zip(starts, ends, strict=True)
    hits = [len(wanted.intersection(tokenize(text[a:b]))) for a, b in spans]
    start = starts[hits.index(max(hits))] if max(hits) else 0
    prefix = "…" if start else ""
    quote = text[start:]
    if len(quote) <= limit:
        return prefix + quote
    cut = quote.rfind(" ", 0, limit)
    return prefix + quote[: cut if cut > 0 else limit] + "…"


@dataclass(frozen=True, slots=True)
class _Chunk:
    document: Document
    index: int
    text: str
    terms: Counter[str]
    length: int


def _chunks(documents: Sequence[Document], max_chars: int) -> list[_Chunk]:
    out = []
    for doc in documents:
        title_terms = tokenize(doc.title or "")
        for i, text in enumerate(chunk_text(doc.text, max_chars)):
            terms = [*title_terms, *tokenize(text)]
            out.append(_Chunk(doc, i, text, Counter(terms), len(terms)))
    return out


def bm25_scores(query_terms: Iterable[str], chunks: Sequence[Counter[str]]) -> list[float]:
    """Okapi BM25 of each chunk (a term → count bag) for the unique query terms."""
    terms = set(query_terms)
    n = len(chunks)
    if not terms or n == 0:
        return [0.0] * n
    lengths = [sum(c.values()) for c in chunks]
    avg = sum(lengths) / n or 1.0
    df = Counter(t for c in chunks for t in terms if c[t])
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms if df[t]}
    scores = []
    for bag, length in zip(chunks, lengths, strict=True):
        norm = K1 * (1 - B + B * length / avg)
        scores.append(
            sum(w * bag[t] * (K1 + 1) / (bag[t] + norm) for t, w in idf.items() if bag[t])
        )
    return scores


def rank(
    query: str,
    documents: Sequence[Document],
    *,
    limit: int = TOP_K,
    max_chars: int = CHUNK_CHARS,
) -> list[Passage]:
    """The chunks of `documents` most relevant to `query`, best first (at most `limit`).

    Ties keep document order, so the same input always gives the same list.
    """
    terms = tokenize(query)
    chunks = _chunks(documents, max_chars)
    scores = bm25_scores(terms, [c.terms for c in chunks])
    best = max(scores, default=0.0)
    if best <= 0:
        return []
    order = sorted(range(len(chunks)), key=lambda i: -scores[i])
    kept = [i for i in order if scores[i] >= best * MIN_RELATIVE_SCORE][:limit]
    return [
        Passage(
            document_id=chunks[i].document.id,
            title=chunks[i].document.title,
            chunk=chunks[i].index,
            text=chunks[i].text,
            score=round(scores[i], 4),
            excerpt=excerpt(chunks[i].text, terms),
        )
        for i in kept
    ]
