"""Reading the lane's raw replies: the store's modules share these few shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

R = TypeVar("R", bound=Sequence[Any])


def ok(replies: R) -> R:
    """The replies of one pipeline; the first error among them is raised."""
    for r in replies:
        if isinstance(r, Exception):
            raise r
    return replies


def as_dict(reply: Any) -> dict[str, str]:
    """A hash as RESP2 sends it (a flat list) or RESP3 (a map)."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


def clock_us(time_reply: Any) -> int:
    """A TIME reply (seconds, microseconds) in microseconds."""
    sec, usec = time_reply
    return int(sec) * 1_000_000 + int(usec)
