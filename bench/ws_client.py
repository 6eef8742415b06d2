"""A minimal WebSocket client on asyncio streams, for a thousand sockets in
one process (like http_client.py: a library client would cost more CPU
than the server it measures). RFC 6455 as far as jobgate's /ws needs it:
the upgrade, masked text frames out, unfragmented frames in, pings answered.
No compression is offered, so none is used.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from typing import Any

TERMINAL = {"completed", "failed", "cancelled"}


class WsConn:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.heartbeats = 0

    async def open(self, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n").encode())
        status = (await self.reader.readline()).split()
        if len(status) < 2 or status[1] != b"101":
            raise RuntimeError(f"upgrade refused: {status!r}")
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        n, mask = len(payload), os.urandom(4)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + masked

    async def send(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        self.writer.write(self._frame(0x1, json.dumps(message).encode()))
        await self.writer.drain()

    async def recv(self) -> dict[str, Any] | None:
        """The next message that is not a heartbeat; None once the server closed."""
        assert self.reader is not None and self.writer is not None
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                return None
            if opcode == 0x9:  # ping: uvicorn closes a socket that does not answer
                self.writer.write(self._frame(0xA, payload))
                continue
            if opcode != 0x1:
                continue
            message: dict[str, Any] = json.loads(payload)
            if message.get("type") == "heartbeat":
                self.heartbeats += 1
                continue
            return message

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def wait_job(ws: WsConn, job_id: str, result: dict[str, Any]) -> float:
    """Subscribe and read until the job's terminal event; the `result` message
    (just before it) fills `result`. Returns when the end was noticed."""
    await ws.send({"type": "subscribe", "job_id": job_id})
    while True:
        m = await ws.recv()
        if m is None:
            raise RuntimeError("the server closed the socket")
        if m["type"] == "result":
            result.update(m["data"])
        elif m["type"] == "event" and m["event"] == "state" and m["data"]["status"] in TERMINAL:
            return time.time()
        elif m["type"] == "error":
            raise RuntimeError(f"error: {m}")
