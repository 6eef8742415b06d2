"""BM25 over paragraph chunks: pure functions, checked on small exact corpora."""

from __future__ import annotations

from collections import Counter

import pytest

from jobgate.agents.ranking import (
    CHUNK_CHARS,
    TOP_K,
    Document,
    bm25_scores,
    chunk_text,
    excerpt,
    rank,
    tokenize,
)

PRICING = Document(
    "pricing",
    "Owners pay per walk today, between 15 and 25 EUR.\n\n"
    "Most owners would switch to a monthly subscription if every walker were vetted "
    "and insured. A subscription above 120 EUR a month was rejected by all of them.",
    "Pricing interviews",
)
SAFETY = Document(
    "safety",
    "Walkers must pass a background check. Insurance covers injuries to the dog and "
    "damage to the owner's home during a walk.",
    "Trust and safety",
)
WEATHER = Document("weather", "Rain in November lowers demand for long walks in the park.")


def test_tokenize_lowercases_drops_stopwords_and_folds_plurals() -> None:
    assert tokenize("What do the Owners want from their WALKERS?") == ["owner", "want", "walker"]
    assert tokenize("companies pay 25 EUR; business class") == [
        "company", "pay", "25", "eur", "business", "class",
    ]
    assert tokenize("snake_case and ümlauts") == ["snake", "case", "ümlaut"]
    assert tokenize("") == [] and tokenize("the of and") == []


def test_chunks_follow_paragraphs_and_join_tiny_pieces() -> None:
    text = "# Pricing\n\n" + "A paragraph about price. " * 10 + "\n\n\n" + "Second one. " * 10
    chunks = chunk_text(text)
    assert len(chunks) == 2
    assert chunks[0].startswith("# Pricing A paragraph about price.")  # heading joined
    assert chunks[1].startswith("Second one.")
    assert all("\n" not in c and "  " not in c for c in chunks)


def test_long_paragraphs_split_at_sentences_then_spaces_within_the_limit() -> None:
    sentence = "Walkers are vetted by the team every single month. "
    chunks = chunk_text(sentence * 60, max_chars=300)
    assert len(chunks) > 1 and all(len(c) <= 300 for c in chunks)
    assert all(c.endswith("month.") for c in chunks)
    words = chunk_text("word " * 500, max_chars=100)
    assert all(len(c) <= 100 for c in words) and sum(c.count("word") for c in words) == 500
    assert chunk_text("x" * 250, max_chars=100) == ["x" * 100, "x" * 100, "x" * 50]
    assert chunk_text("   \n\n  ") == []
    assert max(len(c) for c in chunk_text(sentence * 200)) <= CHUNK_CHARS


def test_rarer_terms_weigh_more_and_repetition_saturates() -> None:
    bags = [Counter(["dog", "walk"]), Counter(["dog", "insurance"]), Counter(["dog", "park"])]
    walk, insurance, park = bm25_scores(["dog", "insurance"], bags)
    assert insurance > walk == park > 0  # "dog" is everywhere, "insurance" in one chunk
    once, many = bm25_scores(["price"], [Counter(["price", "a"]), Counter(["price"] * 5 + ["a"])])
    assert once < many < 5 * once
    assert bm25_scores([], bags) == [0.0, 0.0, 0.0]
    assert bm25_scores(["dog"], []) == []


def test_rank_puts_the_passage_that_answers_first() -> None:
    passages = rank("Would owners pay for a monthly subscription?", [WEATHER, SAFETY, PRICING])
    assert [p.document_id for p in passages][:1] == ["pricing"]
    top = passages[0]
    assert top.title == "Pricing interviews" and top.chunk == 0
    assert "monthly subscription" in top.text
    assert top.excerpt.startswith("…Most owners would switch to a monthly subscription")
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert "weather" not in [p.document_id for p in passages]


def test_rank_matches_titles_and_is_deterministic() -> None:
    assert [p.document_id for p in rank("trust", [PRICING, SAFETY])] == ["safety"]
    docs = [Document(f"d{i}", "same text about dogs") for i in range(3)]
    assert [p.document_id for p in rank("dogs", docs)] == ["d0", "d1", "d2"]


def test_rank_keeps_at_most_the_limit_and_drops_weak_matches() -> None:
    docs = [Document(f"d{i}", f"dog walking note number {i}") for i in range(TOP_K + 3)]
    assert len(rank("dog walking", docs)) == TOP_K
    assert len(rank("dog walking", docs, limit=2)) == 2
    strong = Document("strong", "insurance insurance insurance for vetted walkers")
    weak = Document("weak", "a long note " + "about many other unrelated topics " * 20 + "walkers")
    assert [p.document_id for p in rank("insurance walkers", [weak, strong])] == ["strong"]


@pytest.mark.parametrize(
    "query", ["", "the and of", "quantum chromodynamics", "What is it?"]
)
def test_nothing_shared_means_nothing_found(query: str) -> None:
    assert rank(query, [PRICING, SAFETY, WEATHER]) == []


def test_rank_without_documents_finds_nothing() -> None:
    assert rank("dog walking prices", []) == []
    assert rank("dog walking prices", [Document("empty", "   ")]) == []


def test_excerpt_starts_at_the_first_matching_sentence_and_is_bounded() -> None:
    text = "Intro sentence here. The price was too high for most. Other words follow."
    assert excerpt(text, ["price"]) == "…The price was too high for most. Other words follow."
    assert excerpt(text, ["nothing"]) == text
    long = "Price matters. " + "filler " * 100
    cut = excerpt(long, ["price"], limit=50)
    assert cut.startswith("Price matters.") and cut.endswith("…") and len(cut) <= 51
