"""The manifests agree with each other and with jobgate itself.

Env names are jobgate's settings, probes hit real endpoints on real ports,
Services and the Ingress reach what exists, and the timeouts nest: the app
answers before any proxy cuts, the kubelet waits for a worker's hand-back.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import AliasChoices

from jobgate.settings import Settings
from tests.deploy.k8s_render import Index, Manifest

API_PORT = 8000
CLOUDFLARE_TIMEOUT_S = 60
PRIVATE_PATHS = ["/metrics", "/healthz", "/readyz", "/docs", "/openapi.json"]
REQUIRED_CONFIG = {
    "JOB_POLL_INTERVAL_MS",
    "JOB_MAX_POLL_ATTEMPTS",
    "JOB_TIMEOUT_MS",
    "JOBGATE_REDIS_URL",
    "JOBGATE_RESULT_TTL_S",
    "JOBGATE_JOB_TIMEOUT_S",
    "JOBGATE_MAX_ATTEMPTS",
    "JOBGATE_LEASE_S",
    "JOBGATE_SYNC_WAIT_S",
    "JOBGATE_MAX_ACTIVE_JOBS_PER_USER",
    "JOBGATE_MAX_REQUEST_BYTES",
    "JOBGATE_LLM_BACKEND",
    "JOBGATE_LLM_BASE_URL",
    "JOBGATE_LLM_MODEL",
    "JOBGATE_SIM_STEP_S",
    "JOBGATE_SHUTDOWN_GRACE_S",
}
SECRET_KEYS = {"JOBGATE_AUTH_SECRET", "JOBGATE_LLM_API_KEY"}


def settings_env_names() -> set[str]:
    """Every environment name `Settings` reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in Settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(c) for c in field.validation_alias.choices)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def env_of(k8s: Index, container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Env name -> its source, including every key an envFrom brings in."""
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        for key in k8s.get("ConfigMap", ref)["data"]:
            env[key] = {"configMapKeyRef": {"name": ref, "key": key}}
    for var in container.get("env", []):
        env[var["name"]] = var.get("valueFrom", {"value": var.get("value")})
    return env


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def nginx_size(value: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match, f"not an nginx size: {value}"
    return int(match[1]) * units[match[2]]


def k8s_bytes(value: str) -> int:
    units = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", value)
    assert match, f"not a quantity: {value}"
    return int(match[1]) * units[match[2]]


def valkey_bytes(value: str) -> int:
    units = {"": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "k": 1000, "m": 1000**2, "g": 1000**3}
    match = re.fullmatch(r"(\d+)([a-z]*)", value.lower())
    assert match, f"not a valkey size: {value}"
    return int(match[1]) * units[match[2]]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pods_selected(k8s: Index, selector: dict[str, str]) -> list[Manifest]:
    return [
        w for w in k8s.workloads() if selects(selector, w["spec"]["template"]["metadata"]["labels"])
    ]


# --- configuration ----------------------------------------------------------


def test_configmap_has_every_required_setting(k8s: Index) -> None:
    missing = REQUIRED_CONFIG - k8s.config().keys()
    assert not missing


def test_every_env_name_is_a_jobgate_setting(k8s: Index) -> None:
    known = settings_env_names()
    assert not (k8s.config().keys() - known), "ConfigMap keys Settings does not read"
    for workload in k8s.workloads():
        if workload["metadata"]["name"] == "valkey":
            continue
        for container in workload["spec"]["template"]["spec"]["containers"]:
            unknown = env_of(k8s, container).keys() - known
            assert not unknown, f"{workload['metadata']['name']} reads {unknown}"


def test_every_env_reference_resolves(k8s: Index) -> None:
    (secret,) = k8s.of_kind("Secret")
    for workload in k8s.workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for name, source in env_of(k8s, container).items():
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    assert ref["key"] in k8s.get("ConfigMap", ref["name"])["data"], name
                elif "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["name"] == secret["metadata"]["name"], name
                    assert ref["key"] in secret["stringData"], name
                    assert ref["key"] == name, "secret keys are named like their env var"
                else:
                    pytest.fail(f"{name}: literal env values belong in the ConfigMap")


def test_secrets_come_from_the_secret_only(k8s: Index) -> None:
    assert not (SECRET_KEYS & k8s.config().keys())
    api = env_of(k8s, k8s.container("Deployment", "jobgate-api"))
    worker = env_of(k8s, k8s.container("Deployment", "jobgate-worker"))
    assert "secretKeyRef" in api["JOBGATE_AUTH_SECRET"]
    assert "secretKeyRef" in worker["JOBGATE_LLM_API_KEY"]


def test_configmap_values_are_valid_settings(k8s: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in k8s.config().items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    # The browser settings stay raw strings in Settings; they must be whole
    # numbers all the same, or the page falls back to its defaults.
    poll, attempts, timeout = (
        int(v)
        for v in (
            settings.job_poll_interval_ms,
            settings.job_max_poll_attempts,
            settings.job_timeout_ms,
        )
    )
    assert min(poll, attempts, timeout) >= 1
    assert timeout >= attempts * poll, "the browser would give up before polling that often"
    assert settings.lease_s < settings.job_timeout_s


def test_redis_url_points_at_the_valkey_service(k8s: Index) -> None:
    url = urlsplit(k8s.config()["JOBGATE_REDIS_URL"])
    service = k8s.get("Service", url.hostname or "")
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    (valkey,) = pods_selected(k8s, service["spec"]["selector"])
    assert valkey["kind"] == "StatefulSet"


# --- probes, ports, routing -------------------------------------------------


def container_port(container: dict[str, Any], port: int | str) -> int:
    for p in container.get("ports", []):
        if port in (p["containerPort"], p.get("name")):
            return int(p["containerPort"])
    raise AssertionError(f"{container['name']} has no port {port!r}")


def test_api_command_probes_and_port(k8s: Index) -> None:
    api = k8s.container("Deployment", "jobgate-api")
    assert api["command"] == ["jobgate", "api", "--host", "0.0.0.0", "--port", str(API_PORT)]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container_port(api, api[probe]["httpGet"]["port"]) == API_PORT


def test_worker_command(k8s: Index) -> None:
    worker = k8s.container("Deployment", "jobgate-worker")
    assert worker["command"] == ["jobgate", "worker", "--concurrency", "32"]


def test_frontend_probes_its_own_port(k8s: Index) -> None:
    frontend = k8s.container("Deployment", "jobgate-frontend")
    for probe in ("readinessProbe", "livenessProbe"):
        assert container_port(frontend, frontend[probe]["httpGet"]["port"]) == 8080


def test_services_reach_container_ports(k8s: Index) -> None:
    for service in k8s.of_kind("Service"):
        workloads = pods_selected(k8s, service["spec"]["selector"])
        assert len(workloads) == 1, f"Service {service['metadata']['name']} selects {workloads}"
        (container,) = workloads[0]["spec"]["template"]["spec"]["containers"]
        for port in service["spec"]["ports"]:
            container_port(container, port["targetPort"])


def ingress_routes(k8s: Index) -> list[tuple[str, str, Any]]:
    (ingress,) = k8s.of_kind("Ingress")
    return [
        (path["path"], path["backend"]["service"]["name"], path["backend"]["service"]["port"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]


def test_ingress_backends_exist(k8s: Index) -> None:
    for _, name, port in ingress_routes(k8s):
        service = k8s.get("Service", name)
        ports = service["spec"]["ports"]
        assert any(
            port.get("name") == p.get("name") or port.get("number") == p["port"] for p in ports
        ), f"{name} has no port {port}"


def test_ingress_exposes_the_job_api_but_not_its_internals(k8s: Index) -> None:
    routes = ingress_routes(k8s)
    api_paths = [path for path, service, _ in routes if service == "jobgate-api"]
    assert api_paths == ["/api/multi-agent"]
    for path in api_paths:
        for private in PRIVATE_PATHS:
            assert not private.startswith(path.rstrip("/") + "/") and private != path
    assert ("/", "jobgate-frontend") in [(p, s) for p, s, _ in routes]


def test_proxy_timeouts_exceed_every_wait_of_the_app(k8s: Index) -> None:
    (ingress,) = k8s.of_kind("Ingress")
    notes = ingress["metadata"]["annotations"]
    read = seconds(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"])
    send = seconds(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"])
    defaults = Settings()
    sync_wait = float(k8s.config()["JOBGATE_SYNC_WAIT_S"])
    assert read >= CLOUDFLARE_TIMEOUT_S and send >= CLOUDFLARE_TIMEOUT_S
    assert sync_wait < CLOUDFLARE_TIMEOUT_S - 5, "sync wait must end before Cloudflare's 524"
    # A silent response must end before the ingress's read timeout (the time
    # between two reads); an event stream only has to write more often than that.
    for wait in (sync_wait, defaults.long_poll_max_s):
        assert wait + 5 <= read, "the app must answer before the ingress cuts"
    assert defaults.sse_heartbeat_s + 5 <= read


def test_ingress_streams_and_accepts_jobgate_sized_bodies(k8s: Index) -> None:
    (ingress,) = k8s.of_kind("Ingress")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    body = nginx_size(notes["nginx.ingress.kubernetes.io/proxy-body-size"])
    limit = int(k8s.config()["JOBGATE_MAX_REQUEST_BYTES"])
    assert limit <= body < 2 * limit, "ingress body limit should sit just above jobgate's"


# --- shutdown ---------------------------------------------------------------


def prestop_sleep(container: dict[str, Any]) -> int:
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2
    return int(command[1])


def test_worker_grace_covers_shutdown_grace_and_hand_back(k8s: Index) -> None:
    grace = float(k8s.config()["JOBGATE_SHUTDOWN_GRACE_S"])
    pod = k8s.pod("Deployment", "jobgate-worker")
    assert pod["terminationGracePeriodSeconds"] >= grace + 10


def test_api_drains_before_shutdown(k8s: Index) -> None:
    pod = k8s.pod("Deployment", "jobgate-api")
    sleep = prestop_sleep(pod["containers"][0])
    assert sleep >= 5, "endpoint removal takes a few seconds to reach every proxy"
    assert pod["terminationGracePeriodSeconds"] > sleep + Settings().long_poll_max_s


def test_worker_has_a_disruption_budget(k8s: Index) -> None:
    for name in ("jobgate-worker", "jobgate-api"):
        pdb = k8s.get("PodDisruptionBudget", name)
        (target,) = pods_selected(k8s, pdb["spec"]["selector"]["matchLabels"])
        assert target["metadata"]["name"] == name


# --- valkey -----------------------------------------------------------------


def valkey_args(k8s: Index) -> dict[str, str]:
    args = k8s.container("StatefulSet", "valkey")["args"]
    assert args[0] == "valkey-server"
    flags = args[1:]
    assert len(flags) % 2 == 0 and all(f.startswith("--") for f in flags[::2])
    return {flag[2:]: value for flag, value in zip(flags[::2], flags[1::2], strict=True)}


def test_valkey_persists_and_never_evicts(k8s: Index) -> None:
    args = valkey_args(k8s)
    assert args["appendonly"] == "yes"
    assert args["appendfsync"] == "everysec"
    assert args["maxmemory-policy"] == "noeviction"
    container = k8s.container("StatefulSet", "valkey")
    assert container["image"] == "valkey/valkey:8"
    limit = k8s_bytes(container["resources"]["limits"]["memory"])
    assert limit >= 1.5 * valkey_bytes(args["maxmemory"]), "room for AOF rewrite forks"


def test_valkey_data_is_on_a_claim(k8s: Index) -> None:
    statefulset = k8s.get("StatefulSet", "valkey")
    claims = {c["metadata"]["name"] for c in statefulset["spec"]["volumeClaimTemplates"]}
    mounts = {
        m["mountPath"]: m["name"] for m in k8s.container("StatefulSet", "valkey")["volumeMounts"]
    }
    assert mounts[valkey_args(k8s)["dir"]] in claims
    service = k8s.get("Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"


def test_only_jobgate_reaches_valkey(k8s: Index) -> None:
    (policy,) = k8s.of_kind("NetworkPolicy")
    (target,) = pods_selected(k8s, policy["spec"]["podSelector"]["matchLabels"])
    assert target["metadata"]["name"] == "valkey"
    (rule,) = policy["spec"]["ingress"]
    allowed = {
        w["metadata"]["name"]
        for peer in rule["from"]
        for w in pods_selected(k8s, peer["podSelector"]["matchLabels"])
    }
    assert allowed == {"jobgate-api", "jobgate-worker"}


# --- scaling and hardening ----------------------------------------------------


def test_autoscalers_own_api_and_worker_replicas(k8s: Index) -> None:
    targets = set()
    for hpa in k8s.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        deployment = k8s.get(ref["kind"], ref["name"])
        assert "replicas" not in deployment["spec"], "the HPA owns replicas; apply would reset it"
        assert hpa["spec"]["minReplicas"] >= 2
        targets.add(ref["name"])
    assert targets == {"jobgate-api", "jobgate-worker"}


def test_workload_selectors_match_their_templates(k8s: Index) -> None:
    for workload in k8s.workloads():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selects(workload["spec"]["selector"]["matchLabels"], labels)


def test_every_pod_is_hardened_and_bounded(k8s: Index) -> None:
    for workload in k8s.workloads():
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys(), name
