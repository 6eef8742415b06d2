"""NUL characters out of what the history stores: PostgreSQL refuses them in
text and JSONB, and one such job must not block the outbox. Both databases
store the same (U+FFFD instead), so a read answers the same on either."""

from __future__ import annotations

import re
from typing import Any

from jobgate import serde

# A NUL in JSON text is the escape \u0000 after an even run of backslashes (an
# odd run makes the backslash before `u0000` a literal one).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def no_nul(value: Any) -> Any:
    """A text column's value, NULs replaced."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def json_text(value: Any) -> str:
    """A JSON column's text (the engine's serializer): orjson, every NUL in a key
    or a string replaced on the text, not by walking the value (a large result
    costs one scan)."""
    text = serde.dumps(value)
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text
