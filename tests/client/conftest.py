"""Fixtures of the client tests: real server stacks with per-test settings,
and httpx transports that get between the client and the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from jobgate.embedded import EmbeddedValkey
from tests.server import Stack

MakeStack = Callable[..., Stack]
SLOW_ENV = {"JOBGATE_SIM_STEP_S": "0.4"}
"""Seven sequential steps of 0.4 s: a job that runs ~3 s, long enough to act on mid-way."""

SEQUENTIAL = {"query": "a todo app for cats", "coordination_mode": "sequential"}


@pytest.fixture
def make_stack(
    valkey: EmbeddedValkey, namespace: str, tmp_path: Path
) -> Iterator[MakeStack]:
    """Start an API and a worker with extra server env; all stopped after the test."""
    stacks: list[Stack] = []

    def make(workers: int = 1, **env: str) -> Stack:
        s = Stack(valkey.url, f"{namespace}-{len(stacks)}", tmp_path / f"stack{len(stacks)}",
                  extra_env=env)
        stacks.append(s)
        s.start_api()
        for _ in range(workers):
            s.start_worker()
        return s

    yield make
    for s in stacks:
        s.stop()


@pytest.fixture
def slow_stack(make_stack: MakeStack) -> Stack:
    return make_stack(**SLOW_ENV)


class Recording(httpx.HTTPTransport):
    """A real transport that records each request's method, path and headers,
    and can answer some paths itself (`refuse`: path suffix → status)."""

    def __init__(self, refuse: dict[str, int] | None = None) -> None:
        super().__init__()
        self.refuse = refuse or {}
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        for suffix, code in self.refuse.items():
            if request.url.path.endswith(suffix):
                return httpx.Response(code, text="<html>no</html>")
        return super().handle_request(request)

    def paths(self, suffix: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.path.endswith(suffix)]


class AsyncRecording(httpx.AsyncHTTPTransport):
    """The asyncio twin of `Recording`."""

    def __init__(self, refuse: dict[str, int] | None = None) -> None:
        super().__init__()
        self.refuse = refuse or {}
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        for suffix, code in self.refuse.items():
            if request.url.path.endswith(suffix):
                return httpx.Response(code, text="<html>no</html>")
        return await super().handle_async_request(request)

    def paths(self, suffix: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.path.endswith(suffix)]
