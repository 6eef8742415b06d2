"""A minimal HTTP/1.1 client on asyncio streams, for thousands of waiting users.

httpx would spend more CPU in the client than the server spends answering,
on a machine whose other core runs Valkey; this keeps the client cheap.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Conn:
    """One user's keep-alive connection; counts the requests it makes."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.requests = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def _send(self, method: str, path: str, body: bytes | None,
                    headers: dict[str, str]) -> asyncio.StreamReader:
        reader, writer = await self._open()
        self.requests += 1
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Authorization: Bearer {self.token}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        await writer.drain()
        return reader

    async def _head(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        status = int((await reader.readline()).split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    async def request(self, method: str, path: str, payload: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        try:
            reader = await self._send(method, path, body, headers or {})
            status, h = await self._head(reader)
        except (IndexError, ConnectionError):
            # The server closed an idle keep-alive connection (uvicorn: after 5 s):
            # reconnect and send again, as an HTTP client library would.
            await self.close()
            self.requests -= 1  # the server never saw it
            reader = await self._send(method, path, body, headers or {})
            status, h = await self._head(reader)
        data = await reader.readexactly(int(h.get("content-length", "0")))
        if h.get("connection") == "close":
            await self.close()
        return status, h, json.loads(data) if data else None

    async def sse(self, path: str, on_event: Any, headers: dict[str, str] | None = None) -> None:
        """Read an event stream (chunked) until the server ends it or on_event says stop."""
        hdrs = {"Accept": "text/event-stream", **(headers or {})}
        try:
            reader = await self._send("GET", path, None, hdrs)
            status, _ = await self._head(reader)
        except (IndexError, ConnectionError):
            await self.close()
            self.requests -= 1
            reader = await self._send("GET", path, None, hdrs)
            status, _ = await self._head(reader)
        if status != 200:
            raise RuntimeError(f"SSE status {status}")
        event: dict[str, str] = {}
        buf = b""
        while True:
            size_line = await reader.readline()
            if not size_line:
                break
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            buf += await reader.readexactly(size)
            await reader.readexactly(2)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode().rstrip("\r")
                if text == "":
                    if event and on_event(event):
                        await self.close()
                        return
                    event = {}
                elif not text.startswith(":"):
                    k, _, v = text.partition(":")
                    event[k] = v.lstrip()
