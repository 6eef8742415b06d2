"""Where the server is and who we are: JOBGATE_URL and JOBGATE_TOKEN.

The SDK's only settings, read here and nowhere else in the client. Not the
server's pydantic-settings `Settings`: a client install has neither the
server's modules nor pydantic-settings, and two variables need no more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_PREFIX = "/api/multi-agent"
"""Where the multi-agent kind's job routes are mounted; `prefix=` changes it."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    url: str = DEFAULT_URL
    token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        """JOBGATE_URL and JOBGATE_TOKEN; an empty variable counts as unset."""
        env = os.environ if environ is None else environ
        return cls(url=env.get("JOBGATE_URL") or DEFAULT_URL,
                   token=env.get("JOBGATE_TOKEN") or None)
