"""A Server-Sent Events decoder (WHATWG "event stream interpretation"), fed line by line.

Pure: the clients feed it the lines httpx streams and get `JobEvent`s back.
Comments (the server's heartbeats) and events without data yield nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from jobgate.models import JobEvent


class SSEDecoder:
    """Turns lines (without their line ending) into events; an empty line ends one."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, line: str) -> JobEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> JobEvent | None:
        if self._id is not None:
            self.last_event_id = self._id
        data, event, eid = self._data, self._event or "message", self._id
        self._data, self._event, self._id = [], "", None
        if not data:
            return None
        eid = eid or self.last_event_id or ""
        return JobEvent(id=eid, type=event, data=_decode("\n".join(data)))


def _decode(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def event_key(event_id: str) -> tuple[int, int] | None:
    """A stream id `ms-seq` as a sortable pair; None for an id of another shape."""
    ms, sep, seq = event_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)
