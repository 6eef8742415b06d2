"""jobgate: an async-job gateway for long-running AI requests.

The public surface is `__all__`: the clients, their errors, and the wire
models they return. Names load on first use, so `import jobgate` stays cheap
(no httpx, no pydantic) for the server's CLI and for scripts.

`AgentName`, `CoordinationMode` and `MultiAgentRequest` are the server's
workload models: the SDK-only distribution (`jobgate-client`) has no
`jobgate.agents`, and there a request is passed as a dict.

    import jobgate

    with jobgate.Client() as client:          # JOBGATE_URL, JOBGATE_TOKEN
        response = client.run({"query": "a todo app for cats"})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from jobgate.agents.models import AgentName, CoordinationMode, MultiAgentRequest
    from jobgate.client import (
        APIError,
        AsyncClient,
        AuthError,
        Client,
        ClientError,
        JobCancelled,
        JobFailed,
        JobNotDone,
        JobTimeout,
        NotFound,
        Progress,
        Retry,
        TransportError,
    )
    from jobgate.client._models import MultiAgentResponse
    from jobgate.errors import JobGateError
    from jobgate.job import JobState, Priority
    from jobgate.models import (
        JobEvent,
        JobListResponse,
        JobResultResponse,
        JobStatusResponse,
        JobSubmitResponse,
        Step,
    )

_CLIENT = [
    "APIError", "AsyncClient", "AuthError", "Client", "ClientError", "JobCancelled",
    "JobFailed", "JobNotDone", "JobTimeout", "NotFound", "Progress", "Retry", "TransportError",
]
_WHERE: dict[str, str] = {
    **dict.fromkeys(_CLIENT, "jobgate.client"),
    **dict.fromkeys(["AgentName", "CoordinationMode", "MultiAgentRequest"],
                    "jobgate.agents.models"),
    "MultiAgentResponse": "jobgate.client._models",
    **dict.fromkeys(
        ["JobEvent", "JobListResponse", "JobResultResponse", "JobStatusResponse",
         "JobSubmitResponse", "Step"],
        "jobgate.models",
    ),
    "JobGateError": "jobgate.errors",
    "JobState": "jobgate.job",
    "Priority": "jobgate.job",
}

__all__ = [
    "APIError",
    "AgentName",
    "AsyncClient",
    "AuthError",
    "Client",
    "ClientError",
    "CoordinationMode",
    "JobCancelled",
    "JobEvent",
    "JobFailed",
    "JobGateError",
    "JobListResponse",
    "JobNotDone",
    "JobResultResponse",
    "JobState",
    "JobStatusResponse",
    "JobSubmitResponse",
    "JobTimeout",
    "MultiAgentRequest",
    "MultiAgentResponse",
    "NotFound",
    "Priority",
    "Progress",
    "Retry",
    "Step",
    "TransportError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        try:
            module = importlib.import_module(_WHERE[name])
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("jobgate."):
                raise
            raise AttributeError(  # the jobgate-client install: no server modules
                f"jobgate.{name} needs the server's package (pip install jobgate); "
                "with jobgate-client, pass the request as a dict") from exc
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
