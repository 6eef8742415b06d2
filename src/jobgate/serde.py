"""JSON in and out of Redis: orjson, never pickle (whoever writes Redis would run code).

Datetimes (aware or naive, taken as UTC) and Pydantic models serialise; the
old system lost every job to `Object of type datetime is not JSON serializable`.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

_OPTS = orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    return orjson.dumps(obj, default=_default, option=_OPTS).decode()


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)
