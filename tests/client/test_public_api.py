"""The public surface is exactly `__all__`, and `import jobgate` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import jobgate
from jobgate.errors import JobGateError

EXPECTED = [
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


def test_all_is_exact() -> None:
    assert jobgate.__all__ == EXPECTED


def test_every_public_name_resolves_and_is_listed_by_dir() -> None:
    for name in jobgate.__all__:
        assert getattr(jobgate, name) is not None, name
    assert set(jobgate.__all__) <= set(dir(jobgate))


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert jobgate.__version__ == version("jobgate")


def test_errors_share_one_root() -> None:
    errors = ["APIError", "AuthError", "JobCancelled", "JobFailed", "JobNotDone",
              "JobTimeout", "NotFound", "TransportError"]
    for name in errors:
        cls = getattr(jobgate, name)
        assert issubclass(cls, jobgate.ClientError), name
        assert issubclass(cls, JobGateError), name
    assert issubclass(jobgate.AuthError, jobgate.APIError)
    assert issubclass(jobgate.NotFound, jobgate.APIError)


def test_import_is_light() -> None:
    code = (
        "import sys, jobgate; "
        "heavy = [m for m in ('httpx', 'pydantic', 'redis', 'fastapi') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_attribute_raises() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = jobgate.NoSuchThing  # type: ignore[attr-defined]


def test_both_clients_offer_the_same_methods_with_the_same_parameters() -> None:
    import inspect

    def methods(cls: type) -> dict[str, list[tuple[str, object]]]:
        return {
            name: [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
            for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("_")
        }

    sync, asyn = methods(jobgate.Client), methods(jobgate.AsyncClient)
    assert sync.pop("close") == asyn.pop("aclose")
    assert sync == asyn
    assert {"submit", "status", "result", "cancel", "jobs", "run", "wait", "watch"} <= set(sync)
    init = inspect.signature(jobgate.Client).parameters
    assert init["prefix"].default == "/api/multi-agent"
