"""Test doubles for the multi-agent workload, all honest in-memory or real.

- `InMemoryReporter`: the narrow `JobReporter` protocol, recording what the
  pipeline reports instead of writing to Redis.
- `ScriptedLLM`: an `LLMBackend` that answers from the prompt it got and
  records every call (which agent, which prompt, cancelled or finished).
- `ChatServer`: a real HTTP server on 127.0.0.1 speaking the OpenAI
  chat-completions protocol (SSE streaming, errors, hangs), scripted per test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobgate.agents.llm.base import ClosingMixin, OnToken
from jobgate.agents.models import AgentName
from jobgate.agents.roles import system_prompt
from jobgate.errors import RetryableError

# --------------------------------------------------------------------------
# In-memory reporter


@dataclass
class InMemoryReporter:
    """Records progress and events; can cancel itself after N agent outputs."""

    attempt: int = 1
    cancel_after_outputs: int | None = None
    progress_calls: list[tuple[float, str | None, dict[str, Any] | None]] = field(
        default_factory=list
    )
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _cancelled: bool = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    async def progress(
        self,
        fraction: float,
        message: str | None = None,
        step: Mapping[str, Any] | None = None,
    ) -> None:
        self.progress_calls.append((fraction, message, dict(step) if step else None))

    async def event(self, type: str, data: Mapping[str, Any]) -> None:
        self.events.append((type, dict(data)))
        limit = self.cancel_after_outputs
        if type == "agent_output" and limit is not None:
            self._cancelled = len(self.of_type("agent_output")) >= limit

    def of_type(self, type: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == type]

    @property
    def fractions(self) -> list[float]:
        return [f for f, _, _ in self.progress_calls]


@pytest.fixture
def reporter() -> InMemoryReporter:
    return InMemoryReporter()


# --------------------------------------------------------------------------
# Scripted LLM

_AGENT_OF = {system_prompt(a): a.value for a in AgentName}


@dataclass
class Call:
    agent: str
    prompt: str
    started: float
    finished: float | None = None
    cancelled: bool = False


class ScriptedLLM(ClosingMixin):
    """Answers `"<agent> says #<n>"`, streamed in three pieces over `delay_s`."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self, delay_s: float = 0.0, fail_agent: str | None = None) -> None:
        self.delay_s = delay_s
        self.fail_agent = fail_agent
        self.calls: list[Call] = []
        self.closed = False
        self._new_call = asyncio.Event()

    async def wait_for_calls(self, n: int) -> None:
        while len(self.calls) < n:
            self._new_call.clear()
            await self._new_call.wait()

    async def complete(self, system: str, prompt: str, on_token: OnToken | None = None) -> str:
        call = Call(_AGENT_OF[system], prompt, time.monotonic())
        self.calls.append(call)
        self._new_call.set()
        text = f"{call.agent} says #{len(self.calls)}"
        try:
            for piece in (text[:3], text[3:8], text[8:]):
                await asyncio.sleep(self.delay_s / 3)
                if call.agent == self.fail_agent:
                    raise RetryableError(f"{call.agent} failed")
                if on_token is not None:
                    await on_token(piece)
        except asyncio.CancelledError:
            call.cancelled = True
            raise
        call.finished = time.monotonic()
        return text

    async def aclose(self) -> None:
        self.closed = True

    @property
    def agents(self) -> list[str]:
        return [c.agent for c in self.calls]


# --------------------------------------------------------------------------
# A real chat-completions server


@dataclass
class Reply:
    """One scripted answer of the chat server."""

    status: int = 200
    chunks: list[str] = field(default_factory=lambda: ["Hello", " world"])
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON body for errors or a non-streamed answer
    hang_s: float = 0.0  # wait this long (or until teardown) before answering
    hang_after: int | None = None  # stream this many chunks, then hang
    error_chunk: Any = None  # sent as a `data:` line after the chunks


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.replies: list[Reply] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.release = threading.Event()
        self.disconnected = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer is expected here; stay quiet."""


class _ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
        reply = self.server.replies.pop(0) if self.server.replies else Reply()
        if reply.hang_s:
            self.server.release.wait(reply.hang_s)
        try:
            if reply.status != 200 or reply.body is not None:
                self._plain(reply)
            else:
                self._stream(reply)
        except OSError:
            self.server.disconnected.set()

    def _plain(self, reply: Reply) -> None:
        data = json.dumps(reply.body or {}).encode()
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send(self, payload: str) -> None:
        self.wfile.write(f"data: {payload}\n\n".encode())
        self.wfile.flush()

    def _stream(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for i, text in enumerate(reply.chunks):
            if reply.hang_after is not None and i >= reply.hang_after:
                self._hang_until_client_leaves()
                return
            self._send(json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}))
        if reply.error_chunk is not None:
            self._send(json.dumps({"error": reply.error_chunk}))
            return
        self._send("[DONE]")

    def _hang_until_client_leaves(self) -> None:
        # SSE comments keep probing the socket; a write fails once the client is gone.
        while not self.server.release.is_set():
            self.wfile.write(b": waiting\n\n")
            self.wfile.flush()
            time.sleep(0.05)


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
