"""The Python SDK: `Client` (blocking) and `AsyncClient` (asyncio), over HTTP only.

Both run the same sans-I/O core (`_actions.py` says why); neither imports
anything of the server (`jobgate.agents`, `.api`, `.store`, `.settings`), so
the SDK installs alone as the `jobgate-client` distribution
(clients/python/pyproject.toml). Imported lazily, so that `jobgate` and the
server's CLI do not pay for httpx until a client is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobgate.client._async import AsyncClient
    from jobgate.client._errors import (
        APIError,
        AuthError,
        ClientError,
        JobCancelled,
        JobFailed,
        JobNotDone,
        JobTimeout,
        NotFound,
        TransportError,
    )
    from jobgate.client._sync import Client
    from jobgate.client._tracker import Progress
    from jobgate.client._transport import Retry
    from jobgate.client._update import JobUpdate

_WHERE = {
    "AsyncClient": "jobgate.client._async",
    "Client": "jobgate.client._sync",
    "JobUpdate": "jobgate.client._update",
    "Progress": "jobgate.client._tracker",
    "Retry": "jobgate.client._transport",
    **dict.fromkeys(
        ["APIError", "AuthError", "ClientError", "JobCancelled", "JobFailed", "JobNotDone",
         "JobTimeout", "NotFound", "TransportError"],
        "jobgate.client._errors",
    ),
}

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthError",
    "Client",
    "ClientError",
    "JobCancelled",
    "JobFailed",
    "JobNotDone",
    "JobTimeout",
    "JobUpdate",
    "NotFound",
    "Progress",
    "Retry",
    "TransportError",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
