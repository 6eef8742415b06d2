"""Pure: one readable line for a list of validation errors.

FastAPI's 422 `detail` is a list of `{loc, msg, type}`; a client that shows
an error as text needs one string naming the field and what to send, e.g.
"request.primary_agent: Input should be 'research', … or 'summary' (got 'foo')".
The allowed values come from the model's own error, so they follow the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SHOWN = 3
_INPUT_CHARS = 60
_PARAM_PLACES = ("query", "path", "header", "cookie")
JSON_HINT = "send a JSON object with the header Content-Type: application/json"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """The first few problems, each naming its field; a count of the rest."""
    if not errors:
        return "invalid request"
    parts = [_one(e) for e in errors[:SHOWN]]
    more = len(errors) - SHOWN
    if more > 0:
        parts.append(f"and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(parts)


def _one(error: Mapping[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    kind = error.get("type", "")
    if loc == ["body"] and kind == "missing":
        return f"the request has no body: {JSON_HINT}"
    if kind == "json_invalid":
        ctx = error.get("ctx") or {}
        reason = ctx.get("error", "invalid JSON")
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return f"body is not valid JSON: {reason}{at}"
    text = f"{_field(loc)}: {error.get('msg', 'invalid')}"
    got = _got(error.get("input"), kind)
    return f"{text} (got {got})" if got else text


def _field(loc: list[str]) -> str:
    if not loc:
        return "request"
    place, rest = loc[0], loc[1:]
    if place == "body":
        return ".".join(rest) or "body"
    if place in _PARAM_PLACES:
        return f"{'.'.join(rest)} ({place})"
    return ".".join(loc)


def _got(value: Any, kind: str) -> str | None:
    """The offending value, short, when it helps (not for a missing field,
    whose `input` is the enclosing object)."""
    if kind in ("missing", "extra_forbidden"):
        return None
    if isinstance(value, str):
        short = value if len(value) <= _INPUT_CHARS else value[:_INPUT_CHARS] + "…"
        return repr(short)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bytes):
        return "a body that is not JSON"
    return None
