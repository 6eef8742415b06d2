"""deploy/frontend/docker-entrypoint.sh writes a config.js that is safe to run.

Hostile values go in; the generated script is run in node with a fake
`window`, and every value must come back exactly. The script is run with each
shell and awk available here (the nginx images use busybox on Alpine, dash and
mawk on Debian), so a construct one of them lacks shows up as a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.k8s_render import DEPLOY, ROOT

SCRIPT = DEPLOY / "frontend" / "docker-entrypoint.sh"
DEFAULTS = {
    "__JOB_POLL_INTERVAL_MS__": 5000,
    "__JOB_MAX_POLL_ATTEMPTS__": 120,
    "__JOB_TIMEOUT_MS__": 600000,
}
HOSTILE = (
    "https://api.example.com/x?a=1&b=2|c\"d'e\\f`g${h}"
    "</script><script>alert(1)</script><!--\n\r\t\x01\x1f\x7f"
    "é€😀\u2028\u2029 -->"
)
READ_BACK = """
const fs = require("fs");
const vm = require("vm");
const window = {};
vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8"), { window });
process.stdout.write(JSON.stringify(window));
"""

VARIANTS = {
    "dash+mawk": ("dash", "mawk"),
    "busybox": ("busybox sh", "busybox awk"),
    "dash+gawk": ("dash", "gawk"),
}


@pytest.fixture(params=list(VARIANTS), scope="module")
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    shell, awk = VARIANTS[request.param]
    missing = [tool.split()[0] for tool in (shell, awk) if not shutil.which(tool.split()[0])]
    if missing:
        pytest.skip(f"{request.param}: {', '.join(missing)} not installed")
    # Put the chosen awk first on PATH under the name the script calls.
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "awk").write_text(f'#!/bin/sh\nexec {awk} "$@"\n')
    (bin_dir / "awk").chmod(0o755)
    return shell.split(), str(bin_dir)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node not installed: cannot run the generated config.js")
    return found


def run(
    variant: Any, target: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[bytes]:
    """Run the script with only `env` (and PATH) in its environment."""
    shell, bin_dir = variant
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "JOBGATE_CONFIG_JS": str(target)}
    return subprocess.run(
        [*shell, str(SCRIPT), *args],
        env={**base, **env},
        capture_output=True,
        timeout=30,
        check=False,
    )


def read_back(node: str, target: Path) -> dict[str, Any]:
    out = subprocess.run(
        [node, "-e", READ_BACK, str(target)], capture_output=True, timeout=30, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_hostile_api_url_round_trips(variant: Any, node: str, tmp_path: Path) -> None:
    target = tmp_path / "html" / "config.js"
    done = run(variant, target, {"API_URL": HOSTILE})
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert read_back(node, target) == {"__API_URL__": HOSTILE, **DEFAULTS}


def test_output_is_inert_inside_an_html_script_element(variant: Any, tmp_path: Path) -> None:
    target = tmp_path / "config.js"
    assert run(variant, target, {"API_URL": HOSTILE}).returncode == 0
    text = target.read_text(encoding="utf-8")
    # Nothing that could close the element, open a comment or end a JS line.
    for raw in ("<", ">", "&", "\u2028", "\u2029", "'", "\r", "\x7f"):
        assert raw not in text
    assert text.count("\n") == 5  # a comment and four assignments


def test_numbers_are_validated(variant: Any, node: str, tmp_path: Path) -> None:
    target = tmp_path / "config.js"
    done = run(
        variant,
        target,
        {
            "JOB_POLL_INTERVAL_MS": "2500; alert(1)",
            "JOB_MAX_POLL_ATTEMPTS": "0",
            "JOB_TIMEOUT_MS": "1e9",
            "JOBGATE_API_URL": "/",
        },
    )
    assert done.returncode == 0
    stderr = done.stderr.decode()
    for name in ("JOB_POLL_INTERVAL_MS", "JOB_MAX_POLL_ATTEMPTS", "JOB_TIMEOUT_MS"):
        assert re.search(rf"warning: {name} .*default", stderr), stderr
    assert read_back(node, target) == {"__API_URL__": "/", **DEFAULTS}


def test_valid_numbers_are_used_and_leading_zeros_dropped(
    variant: Any, node: str, tmp_path: Path
) -> None:
    target = tmp_path / "config.js"
    done = run(
        variant,
        target,
        {
            "JOB_POLL_INTERVAL_MS": "0100",
            "JOB_MAX_POLL_ATTEMPTS": "7",
            "JOB_TIMEOUT_MS": "999999999",
        },
    )
    assert done.returncode == 0 and done.stderr == b""
    assert read_back(node, target) == {
        "__API_URL__": "",
        "__JOB_POLL_INTERVAL_MS__": 100,
        "__JOB_MAX_POLL_ATTEMPTS__": 7,
        "__JOB_TIMEOUT_MS__": 999999999,
    }


def test_warns_when_the_timeout_is_shorter_than_the_polling(variant: Any, tmp_path: Path) -> None:
    done = run(
        variant,
        tmp_path / "config.js",
        {
            "JOB_POLL_INTERVAL_MS": "5000",
            "JOB_MAX_POLL_ATTEMPTS": "120",
            "JOB_TIMEOUT_MS": "60000",
        },
    )
    assert done.returncode == 0
    assert b"JOB_TIMEOUT_MS (60000) is below" in done.stderr


def test_api_url_wins_over_jobgate_api_url_like_settings(
    variant: Any, node: str, tmp_path: Path
) -> None:
    target = tmp_path / "config.js"
    run(variant, target, {"API_URL": "", "JOBGATE_API_URL": "https://other"})
    assert read_back(node, target)["__API_URL__"] == ""
    run(variant, target, {"JOBGATE_API_URL": "https://other"})
    assert read_back(node, target)["__API_URL__"] == "https://other"


def test_restart_rewrites_the_same_file_and_leaves_no_debris(variant: Any, tmp_path: Path) -> None:
    target = tmp_path / "config.js"
    env = {"API_URL": HOSTILE, "JOB_POLL_INTERVAL_MS": "1000"}
    assert run(variant, target, env).returncode == 0
    first = target.read_bytes()
    assert run(variant, target, env).returncode == 0
    assert target.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["config.js"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_runs_the_given_command_afterwards(variant: Any, tmp_path: Path) -> None:
    target = tmp_path / "config.js"
    done = run(variant, target, {}, "sh", "-c", 'test -s "$JOBGATE_CONFIG_JS" && echo started')
    assert done.returncode == 0
    assert done.stdout == b"started\n"


def test_script_is_sh_and_executable() -> None:
    # The nginx entrypoint runs /docker-entrypoint.d/*.sh only if executable.
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    assert os.access(SCRIPT, os.X_OK)


def test_the_page_loads_the_file_this_script_writes() -> None:
    page = (ROOT / "src" / "jobgate" / "web" / "index.html").read_text()
    assert '<script src="/config.js"></script>' in page
