"""A small bounded TTL cache of sign-in answers, keyed by a credential's hash.

Pure: the caller passes `now`, so expiry is tested without sleeping. The
oldest entry goes first when the cache is full, so a flood of made-up
tokens cannot grow memory without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    expires_at: float


class TtlCache(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, now: float) -> tuple[bool, V | None]:
        """(found, value); an expired entry is dropped and not found."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if now >= entry.expires_at:
            del self._entries[key]
            return False, None
        return True, entry.value

    def put(self, key: str, value: V, now: float) -> None:
        if self.ttl_s <= 0 or self.max_entries <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = _Entry(value, now + self.ttl_s)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
