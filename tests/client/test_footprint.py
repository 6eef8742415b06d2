"""The SDK stands apart from the server: importing it loads no server module,
and what it keeps of the workload (agent and mode names, the response model)
is the workload's own, checked here so the copies cannot drift."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jobgate.agents.models import AgentName, CoordinationMode
from jobgate.agents.models import MultiAgentResponse as ServerResponse
from jobgate.client._models import AGENT_NAMES, COORDINATION_MODES, MultiAgentResponse
from jobgate.client.cli import AGENTS

SERVER_ONLY = ("jobgate.agents", "jobgate.api", "jobgate.store", "jobgate.settings",
               "jobgate.history", "jobgate.worker", "pydantic_settings", "cryptography",
               "fastapi", "starlette", "redis", "uvicorn", "sqlalchemy")


def loaded_after(code: str) -> list[str]:
    """Modules in sys.modules after running `code` in a fresh interpreter."""
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return list(json.loads(out.stdout.splitlines()[-1]))


def server_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == s or m.startswith(s + ".") for s in SERVER_ONLY)]


@pytest.mark.parametrize("code", [
    "import jobgate.client",
    "import jobgate; jobgate.Client; jobgate.AsyncClient; jobgate.MultiAgentResponse",
    "import jobgate.client as c; c.Client; c.AsyncClient; c.JobUpdate; c.Progress",
    "import jobgate.client.cli",
])
def test_importing_the_sdk_loads_no_server_module(code: str) -> None:
    modules = loaded_after(code)
    assert server_modules(modules) == []
    assert "jobgate.client" in modules


def test_the_check_would_see_a_server_module() -> None:
    """The test above can fail: the server's CLI does load them."""
    assert "jobgate.settings" in server_modules(loaded_after("import jobgate.cli"))


def test_agent_and_mode_names_are_the_workloads() -> None:
    assert tuple(a.value for a in AgentName) == AGENT_NAMES
    assert tuple(m.value for m in CoordinationMode) == COORDINATION_MODES
    assert AGENTS.split(", ") == list(AGENT_NAMES)


def test_the_response_model_is_the_workloads() -> None:
    assert MultiAgentResponse.model_json_schema() == ServerResponse.model_json_schema()
