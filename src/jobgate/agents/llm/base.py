"""The one interface every LLM backend implements.

The pipeline only ever calls `complete`; which backend sits behind it is
decided once per job by `jobgate.agents.llm.make_backend`. A backend is an
async context manager because it may own a connection pool that must be
closed with the job (and a per-job API key that must not outlive it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

OnToken = Callable[[str], Awaitable[None]]
"""Called with each piece of streamed text, in order, as it arrives."""


@runtime_checkable
class LLMBackend(Protocol):
    """An LLM that answers a system prompt and a user prompt with text."""

    name: str
    """What `metadata.backend` says: "openai" or "simulated"."""

    model: str

    async def complete(self, system: str, prompt: str, on_token: OnToken | None = None) -> str:
        """The whole answer; the same text is streamed through `on_token` first.

        Raises `RetryableError` for transient failures and `PermanentError`
        for ones that trying again cannot fix.
        """
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosingMixin:
    """`async with backend:` closes it on the way out, whatever happens."""

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
