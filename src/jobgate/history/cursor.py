"""The `GET /jobs` cursor: an opaque, stable place in the newest-first order.

Jobs are ordered by (creation time µs, job id), newest first, the same key
in Valkey (the owner's index, scored by creation) and in history. A cursor
names the last job a page returned by that key, not by source or offset,
so a job the archiver moves from Valkey to history between two pages is
neither repeated nor skipped, and new jobs never shift later pages.

Wire form: base64url of `1.<created µs>.<job id>` (versioned). The filters
are not in it: a client sends the same filters with every page. The old
API's bare creation time (digits) is still read.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from jobgate.errors import InvalidRequest

_FORM = re.compile(r"^1\.(\d{1,20})\.([0-9a-fp-]{1,64})$")
_LEGACY = re.compile(r"^\d{1,20}$")
BAD_CURSOR = "cursor is not one this API returned in `next`"


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """Strictly older than this: (created_us, job_id) in the descending order."""

    created_us: int
    job_id: str = ""  # "": strictly before created_us (the legacy cursor)

    def is_after(self, created_us: int, job_id: str) -> bool:
        """Whether a job with this key comes after the cursor (older: on a later page)."""
        return (created_us, job_id) < (self.created_us, self.job_id)


def encode(c: Cursor) -> str:
    raw = f"1.{c.created_us}.{c.job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(value: str) -> Cursor:
    """The cursor; InvalidRequest (422) for anything this API did not make."""
    if _LEGACY.match(value):
        return Cursor(int(value))
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest(BAD_CURSOR) from None
    m = _FORM.match(raw)
    if not m:
        raise InvalidRequest(BAD_CURSOR)
    return Cursor(int(m.group(1)), m.group(2))
