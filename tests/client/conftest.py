"""Fixtures of the client tests: real server stacks with per-test settings,
and httpx transports that get between the client and the server."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import jobgate
import jobgate.client
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


# -- one test, both clients ----------------------------------------------------------

Flavour = str  # "sync" | "async"


class AsyncDriven:
    """An `AsyncClient` behind the blocking API of `Client`: each call runs on one
    private event loop, so a test written once runs against both clients."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._runner = asyncio.Runner()
        self.client = jobgate.AsyncClient(*args, **kw)

    def __enter__(self) -> AsyncDriven:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self.client.aclose())
        self._runner.close()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *a, **k: self._runner.run(attr(*a, **k))

    def watch(self, *args: Any, **kw: Any) -> Iterator[jobgate.client.JobUpdate]:
        updates = self.client.watch(*args, **kw)

        async def step() -> jobgate.client.JobUpdate:
            return await anext(updates)

        try:
            while True:
                try:
                    yield self._runner.run(step())
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(updates.aclose())  # type: ignore[attr-defined]

    def run_async(self, coro: Any) -> Any:
        return self._runner.run(coro)


AnyClient = Any  # jobgate.Client | AsyncDriven: the same blocking methods


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    return str(request.param)


def make_client(flavour: Flavour, *args: Any, **kw: Any) -> AnyClient:
    """A `Client`, or an `AsyncClient` driven through `AsyncDriven`."""
    if flavour == "sync":
        return jobgate.Client(*args, **kw)
    return AsyncDriven(*args, **kw)


def recording(flavour: Flavour, refuse: dict[str, int] | None = None) -> Any:
    return Recording(refuse) if flavour == "sync" else AsyncRecording(refuse)
