"""The SSE user feed's resume cursor: where a client is in many jobs, in one
`Last-Event-ID`. Pure; the format is in docs/websocket.md.

    1.<t>.<job>~<ms>~<seq>.<job>

`<t>` (base 36, µs of Valkey's clock): every job of the caller created after
it is new to the client. One entry per job followed and not yet ended: its
id (its UUID's 16 bytes and its partition's one, base64url) and the last
event sent (`<ms>-<seq>`, base 36), or no position before its first event.
The cursor lives only in the client: nothing to lose on a restart, and its
size is bounded by the jobs in flight.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field

from jobgate.errors import InvalidRequest
from jobgate.job import is_valid_job_id, partition_of
from jobgate.store.jobs import is_event_id

VERSION = "1"
MAX_LENGTH = 16_384
_B36 = re.compile(r"^[0-9a-z]{1,14}$")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _int36(text: str) -> int:
    if not _B36.match(text):
        raise ValueError(text)
    return int(text, 36)


def _pack_job(job_id: str) -> str:
    """The id's UUID (16 bytes) and its partition (1 byte: at most 256)."""
    raw = uuid.UUID(job_id.rpartition("-p")[0]).bytes + bytes([partition_of(job_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack_job(text: str) -> str:
    raw = base64.urlsafe_b64decode(text + "==")
    if len(raw) != 17:
        raise ValueError(text)
    job_id = f"{uuid.UUID(bytes=raw[:16])}-p{raw[16]}"
    if not is_valid_job_id(job_id) or _pack_job(job_id) != text:
        raise ValueError(text)
    return job_id


def _pack_position(event_id: str | None) -> str:
    if event_id is None:
        return ""
    ms, _, seq = event_id.partition("-")
    return f"~{_b36(int(ms))}~{_b36(int(seq))}"


@dataclass
class FeedCursor:
    """What a feed has delivered: the watermark and each unfinished job's position."""

    watermark_us: int
    positions: dict[str, str | None] = field(default_factory=dict)

    def encode(self) -> str:
        parts = [VERSION, _b36(self.watermark_us)]
        parts += [_pack_job(j) + _pack_position(p) for j, p in self.positions.items()]
        return ".".join(parts)

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        """The cursor a client sent back, or InvalidRequest (422)."""
        try:
            if len(text) > MAX_LENGTH:
                raise ValueError("too long")
            version, t, *entries = text.split(".")
            if version != VERSION:
                raise ValueError(version)
            positions: dict[str, str | None] = {}
            for entry in entries:
                job, *pos = entry.split("~")
                if pos and len(pos) != 2:
                    raise ValueError(entry)
                event_id = f"{_int36(pos[0])}-{_int36(pos[1])}" if pos else None
                if event_id is not None and not is_event_id(event_id):
                    raise ValueError(entry)
                positions[_unpack_job(job)] = event_id
            return cls(_int36(t), positions)
        except (ValueError, binascii.Error):
            raise InvalidRequest(
                "Last-Event-ID is not a cursor of this feed; reconnect without it"
            ) from None

    def advance(self, job_id: str, event_id: str | None, *, ends: bool) -> None:
        """A message of `job_id` went out: move its position, or drop it at its end."""
        if ends:
            self.positions.pop(job_id, None)
        elif event_id is not None:
            self.positions[job_id] = event_id
