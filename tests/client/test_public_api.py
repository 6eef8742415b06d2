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
