"""Any OpenAI-compatible `/v1/chat/completions` endpoint, streamed.

Failures are sorted by whether trying again can help:

    timeout, connection error, 429, 5xx  → RetryableError (after a few
                                            bounded retries in place)
    401, 403                             → PermanentError (bad key)
    other 4xx                            → PermanentError (bad request)

Retrying in place matters: a 429 in step 14 of 19 should cost a short wait,
not a rerun of the whole job. A retry in place happens only before any token
of the call was streamed (otherwise a client would see text twice), and only
when the wait is short (`max_wait_s`); otherwise the error goes to the engine
with the server's `Retry-After` in `retry_after_s`.

The API key is sent as a header and nowhere else: error messages never carry
the server's text for an auth failure (OpenAI echoes part of the key there),
and any other server text is scrubbed of the key before it is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from jobgate.agents.llm.base import ClosingMixin, OnToken
from jobgate.errors import JobError, PermanentError, RetryableError

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 300
_KEY_LIKE = re.compile(r"\b(sk|key|token)[-_][A-Za-z0-9_\-]{6,}", re.IGNORECASE)


def chat_completions_url(base_url: str) -> str:
    """Accept `https://host`, `https://host/v1` or the full endpoint URL."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return f"{base}/chat/completions"
    return f"{base}/v1/chat/completions"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _delta_text(chunk: Any) -> str:
    """The text of one streamed chunk (`choices[0].delta.content`), or ""."""
    if not isinstance(chunk, dict):
        return ""
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else {}
    if not isinstance(first, dict):
        return ""
    content = (first.get("delta") or first.get("message") or {}).get("content")
    return content if isinstance(content, str) else ""


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return response.text


class OpenAIChatLLM(ClosingMixin):
    """One job's client for a chat-completions endpoint; close it with the job."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_s: float,
        max_retries: int = 2,
        max_wait_s: float = 30.0,
        backoff_s: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self.url = chat_completions_url(base_url)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self._api_key = api_key
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    def __repr__(self) -> str:
        return f"OpenAIChatLLM(url={self.url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, system: str, prompt: str, on_token: OnToken | None = None) -> str:
        body = {
            "model": self.model,
            "stream": True,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
        }
        streamed = False

        async def relay(text: str) -> None:
            nonlocal streamed
            streamed = True
            if on_token is not None:
                await on_token(text)

        retries = 0
        while True:
            try:
                return await self._request(body, relay)
            except RetryableError as exc:
                delay = None if streamed else self._in_place_delay(exc, retries)
                if delay is None:
                    raise
                log.warning("LLM call failed (%s); retrying in %.1f s", exc, delay)
            retries += 1
            await asyncio.sleep(delay)

    def _in_place_delay(self, exc: RetryableError, retries: int) -> float | None:
        """How long to wait before retrying here, or None to give up."""
        if retries >= self.max_retries:
            return None
        if exc.retry_after_s is not None:
            delay = exc.retry_after_s
        else:
            delay = self.backoff_s * 2**retries
        return delay if delay <= self.max_wait_s else None

    async def _request(self, body: dict[str, Any], on_token: OnToken) -> str:
        try:
            async with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code != httpx.codes.OK:
                    await response.aread()
                    raise self._status_error(response)
                if "text/event-stream" in response.headers.get("content-type", ""):
                    return await self._read_stream(response, on_token)
                await response.aread()
                text = _delta_text(response.json())
                if text:
                    await on_token(text)
                return text
        except httpx.TimeoutException as exc:
            raise RetryableError(
                f"LLM request timed out after {self.timeout_s:g} s", code="llm_timeout"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableError(
                f"LLM connection failed ({type(exc).__name__})", code="llm_unavailable"
            ) from exc

    async def _read_stream(self, response: httpx.Response, on_token: OnToken) -> str:
        """Server-sent events: `data: {chunk}` lines until `data: [DONE]`."""
        parts: list[str] = []
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise RetryableError(
                    "LLM stream sent a malformed chunk", code="llm_stream"
                ) from exc
            if isinstance(chunk, dict) and chunk.get("error"):
                message = self._scrub(str(chunk["error"]))
                raise RetryableError(f"LLM stream error: {message}", code="llm_stream")
            text = _delta_text(chunk)
            if text:
                parts.append(text)
                await on_token(text)
        return "".join(parts)

    def _status_error(self, response: httpx.Response) -> JobError:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return PermanentError(
                f"LLM backend rejected the API key (HTTP {status}); "
                "check JOBGATE_LLM_API_KEY or the key sent with the job",
                code="llm_auth",
            )
        detail = self._scrub(_server_message(response))
        if status == httpx.codes.TOO_MANY_REQUESTS:
            return RetryableError(
                f"LLM backend rate limited the request (HTTP 429): {detail}",
                code="llm_rate_limited",
                retry_after_s=retry_after,
            )
        if status >= 500 or status == httpx.codes.REQUEST_TIMEOUT:
            return RetryableError(
                f"LLM backend failed (HTTP {status}): {detail}",
                code="llm_unavailable",
                retry_after_s=retry_after,
            )
        return PermanentError(
            f"LLM backend refused the request (HTTP {status}): {detail}", code="llm_bad_request"
        )

    def _scrub(self, text: str) -> str:
        """Server text fit for a job's error: no key, nothing key-like, short."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        text = _KEY_LIKE.sub("***", text)
        text = " ".join(text.split())
        return text[:MAX_DETAIL_CHARS] + ("…" if len(text) > MAX_DETAIL_CHARS else "")
