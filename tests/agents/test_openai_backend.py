"""The OpenAI-compatible backend against a real local chat-completions server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from jobgate.agents.llm.openai import OpenAIChatLLM, chat_completions_url, parse_retry_after
from jobgate.errors import PermanentError, RetryableError
from tests.agents.conftest import ChatServer, Reply

KEY = "sk-test-0123456789abcdef"


def backend(server: ChatServer, **kw: object) -> OpenAIChatLLM:
    options: dict[str, object] = {"timeout_s": 5.0, "max_retries": 0, "backoff_s": 0.01}
    options.update(kw)
    return OpenAIChatLLM(
        base_url=server.url,
        model="test-model",
        api_key=KEY,
        **options,  # type: ignore[arg-type]
    )


async def test_streams_tokens_and_returns_the_whole_text(chat_server: ChatServer) -> None:
    chat_server.push(Reply(chunks=["Hel", "lo, ", "world"]))
    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    async with backend(chat_server) as llm:
        text = await llm.complete("be brief", "say hello", on_token)

    assert text == "Hello, world"
    assert tokens == ["Hel", "lo, ", "world"]
    headers, body = chat_server.requests[0]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "say hello"},
    ]


async def test_accepts_a_non_streamed_answer(chat_server: ChatServer) -> None:
    chat_server.push(Reply(body={"choices": [{"message": {"content": "whole answer"}}]}))
    async with backend(chat_server) as llm:
        assert await llm.complete("s", "p") == "whole answer"


async def test_429_retries_in_place_after_retry_after(chat_server: ChatServer) -> None:
    chat_server.push(
        Reply(status=429, headers={"Retry-After": "0"}, body={"error": {"message": "slow"}}),
        Reply(chunks=["ok"]),
    )
    async with backend(chat_server, max_retries=1) as llm:
        assert await llm.complete("s", "p") == "ok"
    assert len(chat_server.requests) == 2


async def test_429_exhausted_raises_retryable_with_server_retry_after(
    chat_server: ChatServer,
) -> None:
    chat_server.push(Reply(status=429, headers={"Retry-After": "7"}, body={"error": {}}))
    async with backend(chat_server) as llm:
        with pytest.raises(RetryableError) as info:
            await llm.complete("s", "p")
    assert info.value.retry_after_s == 7.0
    assert info.value.code == "llm_rate_limited"
    assert len(chat_server.requests) == 1


async def test_429_with_a_long_wait_goes_to_the_engine_at_once(chat_server: ChatServer) -> None:
    chat_server.push(Reply(status=429, headers={"Retry-After": "120"}, body={"error": {}}))
    async with backend(chat_server, max_retries=3, max_wait_s=30.0) as llm:
        with pytest.raises(RetryableError) as info:
            await llm.complete("s", "p")
    assert info.value.retry_after_s == 120.0
    assert len(chat_server.requests) == 1


async def test_500_is_retryable_and_retried_with_backoff(chat_server: ChatServer) -> None:
    chat_server.push(Reply(status=500, body={"error": {"message": "boom"}}), Reply(chunks=["x"]))
    async with backend(chat_server, max_retries=1) as llm:
        assert await llm.complete("s", "p") == "x"
    chat_server.push(*[Reply(status=503, body={"error": {"message": "down"}})] * 2)
    async with backend(chat_server, max_retries=1) as llm:
        with pytest.raises(RetryableError, match=r"HTTP 503\): down") as info:
            await llm.complete("s", "p")
    assert info.value.code == "llm_unavailable"
    assert len(chat_server.requests) == 4


async def test_401_is_permanent_and_never_echoes_the_key(chat_server: ChatServer) -> None:
    chat_server.push(
        Reply(status=401, body={"error": {"message": f"Incorrect API key provided: {KEY}"}})
    )
    async with backend(chat_server, max_retries=3) as llm:
        with pytest.raises(PermanentError) as info:
            await llm.complete("s", "p")
    assert info.value.code == "llm_auth"
    assert "HTTP 401" in str(info.value)
    assert KEY not in str(info.value) and "0123456789" not in str(info.value)
    assert len(chat_server.requests) == 1
    assert KEY not in repr(llm)


async def test_400_is_permanent_with_the_server_reason_scrubbed(chat_server: ChatServer) -> None:
    chat_server.push(Reply(status=400, body={"error": {"message": f"model not found (key {KEY})"}}))
    async with backend(chat_server, max_retries=3) as llm:
        with pytest.raises(PermanentError, match="model not found") as info:
            await llm.complete("s", "p")
    assert info.value.code == "llm_bad_request"
    assert KEY not in str(info.value)


async def test_hung_server_hits_the_timeout(chat_server: ChatServer) -> None:
    chat_server.push(Reply(hang_s=10))
    started = time.monotonic()
    async with backend(chat_server, timeout_s=0.3) as llm:
        with pytest.raises(RetryableError, match=r"timed out after 0\.3 s") as info:
            await llm.complete("s", "p")
    assert info.value.code == "llm_timeout"
    assert time.monotonic() - started < 3


async def test_error_after_streamed_tokens_is_not_retried_in_place(
    chat_server: ChatServer,
) -> None:
    """Retrying would stream the same text twice to the client."""
    chat_server.push(Reply(chunks=["part"], error_chunk={"message": "overloaded"}))
    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    async with backend(chat_server, max_retries=3) as llm:
        with pytest.raises(RetryableError, match="overloaded"):
            await llm.complete("s", "p", on_token)
    assert tokens == ["part"]
    assert len(chat_server.requests) == 1


async def test_cancel_closes_the_in_flight_request(chat_server: ChatServer) -> None:
    chat_server.push(Reply(chunks=["first", "never"], hang_after=1))
    got_token = asyncio.Event()

    async def on_token(text: str) -> None:
        got_token.set()

    async with backend(chat_server) as llm:
        task = asyncio.create_task(llm.complete("s", "p", on_token))
        await asyncio.wait_for(got_token.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await asyncio.to_thread(chat_server.disconnected.wait, 5)


def test_chat_completions_url_accepts_the_usual_base_urls() -> None:
    assert chat_completions_url("https://api.openai.com") == (
        "https://api.openai.com/v1/chat/completions"
    )
    assert chat_completions_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_completions_url("http://h/x/v1/chat/completions") == (
        "http://h/x/v1/chat/completions"
    )


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
