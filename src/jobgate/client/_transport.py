"""When to try a request again, and how long to wait first. Pure: no I/O, no sleep.

Both clients ask `Retry.delay(...)` and do the sleeping themselves. A retried
request is always safe here: reads are reads, cancel is idempotent, and a
submit carries one `Idempotency-Key` across all of its tries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUS: frozenset[int] = frozenset({502, 503, 504, 524})
"""Answers of a proxy or a restarting server: the next try may well succeed."""

POLL_MIN_S = 0.5
POLL_MAX_S = 30.0
POLL_DEFAULT_S = 2.0


def is_retryable_exception(exc: BaseException) -> bool:
    """Network trouble (refused, reset, timed out, cut mid-body) is worth another try."""
    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    return parse_retry_after(headers.get("retry-after"))


@dataclass(frozen=True)
class Retry:
    """Capped exponential backoff with jitter, and a bound on the tries.

    Try `n` (0-based) of a failing request waits `min(cap, base * 2**n)` scaled
    by a random factor in [1 - jitter, 1]; a server's `Retry-After` replaces
    that, bounded by `max_retry_after`. With the defaults a client rides out
    about 40 s of a server being gone (a pod restart) before giving up.
    """

    retries: int = 8
    base: float = 0.5
    cap: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        raw = min(self.cap, self.base * 2 ** min(attempt, 32))
        return float(raw * (1 - self.jitter * self.rng()))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before try `attempt + 1`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)

    def should_retry(
        self, attempt: int, *, status: int | None = None, exc: BaseException | None = None
    ) -> bool:
        """Whether try `attempt` (0-based), which got `status` or raised `exc`, gets another."""
        if attempt >= self.retries:
            return False
        if exc is not None:
            return is_retryable_exception(exc)
        return status in RETRYABLE_STATUS


def poll_interval(retry_after: float | None) -> float:
    """How long a plain poller sleeps: the server's advice, kept within sane bounds."""
    if retry_after is None:
        return POLL_DEFAULT_S
    return min(max(retry_after, POLL_MIN_S), POLL_MAX_S)


class Deadline:
    """A monotonic point in time, or none (wait forever)."""

    def __init__(self, timeout: float | None, clock: Callable[[], float] = time.monotonic):
        self.timeout = timeout
        self._clock = clock
        self._at = None if timeout is None else clock() + timeout

    def left(self) -> float | None:
        return None if self._at is None else max(self._at - self._clock(), 0.0)

    @property
    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def clamp(self, seconds: float) -> float:
        left = self.left()
        return seconds if left is None else min(seconds, left)
