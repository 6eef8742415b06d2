"""deploy/compose.yaml runs the same thing as the Kubernetes manifests.

Same commands, same env names, the same defaults as the base ConfigMap, the
same Valkey persistence flags. (No compose binary is needed: the file is read
as YAML.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.k8s_render import DEPLOY, K8S_BASE, Index, render

COMPOSE = DEPLOY / "compose.yaml"
DEFAULT = re.compile(r"^\$\{(?P<name>\w+)(?::-(?P<default>.*)|:\?.*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def base_config() -> dict[str, str]:
    return Index(render(K8S_BASE)).config()


def test_runs_the_four_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"valkey", "api", "worker", "frontend"}


def test_commands_match_kubernetes(compose: dict[str, Any], k8s: Index) -> None:
    services = compose["services"]
    for service, deployment in (("api", "jobgate-api"), ("worker", "jobgate-worker")):
        assert services[service]["command"] == k8s.container("Deployment", deployment)["command"]
    assert services["valkey"]["command"] == k8s.container("StatefulSet", "valkey")["args"]
    assert services["valkey"]["image"] == k8s.container("StatefulSet", "valkey")["image"]


def test_api_and_worker_env_matches_configmap_and_secret(
    compose: dict[str, Any], k8s: Index
) -> None:
    (secret,) = k8s.of_kind("Secret")
    # JOBGATE_API_URL is for the page only; compose sets it on the frontend.
    expected = (k8s.config().keys() - {"JOBGATE_API_URL"}) | secret["stringData"].keys()
    for service in ("api", "worker"):
        assert set(compose["services"][service]["environment"]) == expected


def test_defaults_equal_the_base_configmap(
    compose: dict[str, Any], base_config: dict[str, str]
) -> None:
    env = compose["services"]["api"]["environment"]
    for name, value in env.items():
        match = DEFAULT.match(str(value))
        if name == "JOBGATE_REDIS_URL":
            assert value == "redis://valkey:6379/0"
        elif name in {"JOBGATE_AUTH_SECRET"}:
            assert match and match["default"] is None, "no default secret"
        elif name == "JOBGATE_LLM_API_KEY":
            assert value == "${JOBGATE_LLM_API_KEY:-}"
        else:
            assert match and match["name"] == name, name
            assert match["default"] == base_config[name], name


def test_frontend_env_matches_kubernetes(compose: dict[str, Any], k8s: Index) -> None:
    frontend = k8s.container("Deployment", "jobgate-frontend")
    assert set(compose["services"]["frontend"]["environment"]) == {
        e["name"] for e in frontend["env"]
    }


def test_services_are_hardened(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name


def test_worker_stop_grace_covers_its_shutdown(compose: dict[str, Any]) -> None:
    grace = float(
        DEFAULT.match(compose["services"]["worker"]["environment"]["JOBGATE_SHUTDOWN_GRACE_S"])[
            "default"
        ]
    )  # type: ignore[index]
    stop = compose["services"]["worker"]["stop_grace_period"]
    assert float(stop.removesuffix("s")) >= grace + 10
