"""Sealed per-job LLM keys: opaque in Redis, opened only with the server secret."""

from __future__ import annotations

import pytest

from jobgate.agents.credentials import LLM_KEY_FIELD, seal, unseal, with_sealed_key
from jobgate.errors import PermanentError

SECRET = "server-secret-0123456789"
KEY = "sk-user-abcdef123456"


def test_round_trip_and_the_token_hides_the_key() -> None:
    token = seal(KEY, SECRET)
    assert KEY not in token and "abcdef" not in token
    assert unseal(token, SECRET) == KEY
    assert seal(KEY, SECRET) != token  # a fresh IV each time: equal keys do not show


def test_wrong_secret_or_tampering_fails_permanently() -> None:
    token = seal(KEY, SECRET)
    with pytest.raises(PermanentError) as info:
        unseal(token, "another-secret")
    assert info.value.code == "llm_key_invalid"
    assert KEY not in str(info.value)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(PermanentError):
        unseal(tampered, SECRET)
    with pytest.raises(PermanentError):
        unseal("not a token", SECRET)


def test_refuses_empty_key_or_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        seal("", SECRET)
    with pytest.raises(ValueError, match="secret"):
        seal(KEY, "")


def test_with_sealed_key_adds_only_the_sealed_field() -> None:
    payload = {"query": "q"}
    sealed = with_sealed_key(payload, KEY, SECRET)
    assert payload == {"query": "q"}
    assert set(sealed) == {"query", LLM_KEY_FIELD} and LLM_KEY_FIELD == "_llm_key"
    assert unseal(sealed[LLM_KEY_FIELD], SECRET) == KEY
