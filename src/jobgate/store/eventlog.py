"""A finished job's event log, compacted: the format `end_job` writes and
the readers decode.

While a job runs its events are a stream (`T:ev:<id>`). A stream costs over
a kilobyte even for two entries (its first node is preallocated to
`stream-node-max-bytes`), more than everything else the finished job keeps.
So the script that ends a job (end_job, lua/_partition.lua) reads the stream,
writes it with the terminal event into the job's own hash as one JSON array,
flat `[id, type, data, id, type, data, ...]` (each data the JSON it was
stored as), and deletes the stream. The ids stay the stream's (the terminal
event's is the one XADD would have given), so a client resumes with the same
`Last-Event-ID` before and after.

The array is cut into fields of at most 64 bytes (`log`, `log1`, ...) while
the hash is still a listpack: Valkey turns a hash whose value passes
`hash-max-listpack-value` (64 by default) into a hashtable, which costs far
more per field. A hash that is a hashtable already gets it in one `log`.
A stream of `MAX_EVENTS` events or more, or a log longer than `MAX_BYTES`,
stays a stream: there its fixed cost is small, and a resume reads only what
it lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobgate import serde

RawEvent = tuple[str, str, str]  # id, type, data as JSON

CHUNKS = 8
"""Fields a log may be cut into (`LOG_CHUNKS` in lua/_partition.lua: a test checks)."""
FIELDS = ("log", *(f"log{i}" for i in range(1, CHUNKS)))
CHUNK_BYTES = 64  # hash-max-listpack-value's default
MAX_BYTES = 4096
MAX_EVENTS = 64  # a stream this long stays one (read no further to be measured)


def event_key(event_id: str) -> tuple[int, int]:
    """A stream id as the pair it is ordered by."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def decode(chunks: Sequence[str | None]) -> list[RawEvent] | None:
    """The events of a compacted log read as `HMGET job *FIELDS`; None when
    the job's log is not compacted (still a stream, or the job is gone)."""
    text = "".join(c for c in chunks if c)
    if not text:
        return None
    flat = serde.loads(text)
    return [
        (str(flat[i]), str(flat[i + 1]), serde.dumps(flat[i + 2]))
        for i in range(0, len(flat) - 2, 3)
    ]


def after(events: Sequence[RawEvent], last: str | None, count: int) -> list[RawEvent]:
    """Up to `count` of `events` (in id order) that come after `last`."""
    if last is None:
        return list(events[:count])
    seen = event_key(last)
    return [e for e in events if event_key(e[0]) > seen][:count]


def from_stream(entries: Sequence[Any]) -> list[RawEvent]:
    """An XRANGE reply as events (its fields a flat list, or a map)."""
    out = []
    for eid, flat in entries:
        fields = flat if isinstance(flat, dict) else dict(zip(flat[::2], flat[1::2], strict=True))
        out.append((eid, fields.get("type", "event"), fields["data"]))
    return out


def read(entries: Sequence[Any], chunks: Sequence[str | None], last: str | None,
         count: int) -> list[RawEvent]:
    """The events after `last` from the stream's XRANGE reply (read after
    `last`) and the record's log fields, read in that order. A log in the
    record is the whole log, so it wins: if the job ended between the two
    reads, the stream's part is in it too."""
    compacted = decode(chunks)
    if compacted is None:
        return from_stream(entries)
    return after(compacted, last, count)
