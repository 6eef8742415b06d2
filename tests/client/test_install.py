"""The client-only distribution (clients/python, `jobgate-client`) is real:
built from this tree, installed into an empty venv with nothing but its
declared dependencies, it talks to a real server, and `jobgate` there is the
client CLI. Its metadata agrees with the server's pyproject.toml."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.server import Stack

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"


def project(path: Path) -> dict[str, object]:
    return dict(tomllib.loads((path / "pyproject.toml").read_text())["project"])


def run(*args: str | Path, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check,
                          timeout=120, **kw)  # type: ignore[call-overload]


def closure(requirements: list[str]) -> set[str]:
    """The installed distributions these requirements pull in, transitively."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        dist = md.distribution(req.name)
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        for extra in [*req.extras, ""]:
            for sub in dist.requires or []:
                r = Requirement(sub)
                if r.marker is None or r.marker.evaluate({"extra": extra}):
                    todo.append(Requirement(str(r).split(";")[0]))
    return seen


def link_distributions(names: set[str], into: Path) -> None:
    """Make the installed distributions `names` (and only they) importable from
    `into`: a symlink per top-level entry of each (its packages, its metadata)."""
    into.mkdir()
    for name in names:
        dist = md.distribution(name)
        site = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            if (site / top).exists() and not (into / top).exists():
                (into / top).symlink_to(site / top)


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty venv with the built jobgate-client wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("client-install")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
        "--wheel-dir", tmp / "dist", CLIENT)
    wheel = next((tmp / "dist").glob("jobgate_client-*.whl"))
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    deps = closure(list(project(CLIENT)["dependencies"]))  # type: ignore[arg-type]
    link_distributions(deps, tmp / "deps")
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .stdout.strip())
    (site / "jobgate-client-deps.pth").write_text(f"{tmp / 'deps'}\n")
    return venv


def test_the_client_wheel_holds_the_sdk_and_nothing_of_the_server(client_venv: Path) -> None:
    python = client_venv / "bin" / "python"
    code = (
        "import importlib.util as u, json, sys, jobgate, jobgate.client.cli\n"
        "jobgate.Client; jobgate.AsyncClient; jobgate.MultiAgentResponse\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'missing': [m for m in "
        "('fastapi', 'redis', 'pydantic_settings', 'cryptography', 'jobgate.agents', "
        "'jobgate.api', 'jobgate.store', 'jobgate.settings') if u.find_spec(m) is None]}))"
    )
    out = json.loads(run(python, "-c", code, cwd=client_venv).stdout)
    assert len(out["missing"]) == 8, out["missing"]  # not even installed
    assert "websockets" not in out["modules"]  # loaded by watch() only
    meta = run(python, "-c", "import importlib.metadata as m; d = m.distribution("
               "'jobgate-client'); print(d.version); print(d.read_text('entry_points.txt'))")
    assert meta.stdout.startswith("0.1.0") and "jobgate.client.cli:main" in meta.stdout
    agent = run(python, "-c", "import jobgate; jobgate.AgentName", cwd=client_venv, check=False)
    assert agent.returncode == 1 and "pip install jobgate" in agent.stderr


def test_the_installed_client_and_cli_talk_to_a_real_server(
    client_venv: Path, stack: Stack
) -> None:
    python, cli = client_venv / "bin" / "python", client_venv / "bin" / "jobgate"
    code = ("import sys, jobgate\n"
            "with jobgate.Client(sys.argv[1], sys.argv[2]) as c:\n"
            "    print(c.run({'query': 'cats', 'coordination_mode': 'parallel'}).primary_agent)")
    assert run(python, "-c", code, stack.url, stack.token(), cwd=client_venv).stdout.strip()
    env = {"JOBGATE_URL": stack.url, "JOBGATE_TOKEN": stack.token(), "PATH": "/usr/bin:/bin"}
    out = run(cli, "submit", "--query", "cats", "--mode", "parallel", "--wait", "--json",
              env=env, cwd=client_venv)
    assert json.loads(out.stdout.splitlines()[-1])["data"]["status"] == "completed"
    usage = run(cli, "--help", env=env).stdout
    assert "watch" in usage and " up " not in usage and "worker" not in usage


def test_the_two_distributions_agree() -> None:
    server, client = project(ROOT), project(CLIENT)
    assert client["version"] == server["version"]
    server_deps = {Requirement(r).name: str(Requirement(r).specifier)
                   for r in server["dependencies"]}  # type: ignore[attr-defined]
    for r in client["dependencies"]:  # type: ignore[attr-defined]
        req = Requirement(r)
        assert server_deps.get(req.name) == str(req.specifier), req
