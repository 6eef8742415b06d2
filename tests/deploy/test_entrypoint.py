"""deploy/frontend/docker-entrypoint.sh writes a config.js that is safe to run,
and can put the same values into an existing page (JOBGATE_INDEX_HTML).

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
from html.parser import HTMLParser
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


# -- injection into an existing page (JOBGATE_INDEX_HTML) --------------------

APP_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>Product ideation — café</title>
    <script type="module" crossorigin src="/assets/index-4f2a.js"></script>
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
"""
MARKER = "<script data-jobgate-config>"


class _PageScripts(HTMLParser):
    """The page's marked config scripts, and whether each sits inside <head>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_head = False
        self.in_marked = False
        self.found: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        if tag == "script" and any(name == "data-jobgate-config" for name, _ in attrs):
            self.in_marked = True
            self.found.append({"in_head": self.in_head, "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag == "script":
            self.in_marked = False

    def handle_data(self, data: str) -> None:
        if self.in_marked:
            self.found[-1]["text"] += data


def marked_scripts(page: Path) -> list[dict[str, Any]]:
    parser = _PageScripts()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser.found


def run_in_node(node: str, script: str, tmp_path: Path) -> dict[str, Any]:
    source = tmp_path / "extracted.js"
    source.write_text(script, encoding="utf-8")
    return read_back(node, source)


def without_marked_element(text: str) -> str:
    start = text.index(MARKER)
    end = text.index("</script>\n", start) + len("</script>\n")
    return text[:start] + text[end:]


def inject(
    variant: Any, tmp_path: Path, page: Path, env: dict[str, str] | None = None, **extra: str
) -> subprocess.CompletedProcess[bytes]:
    return run(
        variant, tmp_path / "cfg" / "config.js",
        {"JOBGATE_INDEX_HTML": str(page), **(env or {}), **extra},
    )


def test_injects_hostile_values_into_an_existing_page(
    variant: Any, node: str, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    page.write_text(APP_PAGE, encoding="utf-8")
    env = {"API_URL": HOSTILE, "JOB_POLL_INTERVAL_MS": "2000", "JOB_MAX_POLL_ATTEMPTS": "300"}
    done = inject(variant, tmp_path, page, env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""

    scripts = marked_scripts(page)
    assert len(scripts) == 1 and scripts[0]["in_head"]
    assert run_in_node(node, scripts[0]["text"], tmp_path) == {
        "__API_URL__": HOSTILE,
        "__JOB_POLL_INTERVAL_MS__": 2000,
        "__JOB_MAX_POLL_ATTEMPTS__": 300,
        "__JOB_TIMEOUT_MS__": 600000,
    }
    text = page.read_text(encoding="utf-8")
    # Exactly the config.js lines, right before </head>; the rest of the page as it was.
    config = (tmp_path / "cfg" / "config.js").read_text(encoding="utf-8")
    assert f"</title>\n{MARKER}\n{config}</script>\n  </head>" in text.replace(
        '    <script type="module" crossorigin src="/assets/index-4f2a.js"></script>\n', ""
    )
    assert without_marked_element(text) == APP_PAGE
    for raw in ("\u2028", "\u2029", "</script><script>alert"):
        assert raw not in scripts[0]["text"]


def test_a_restart_replaces_the_element_and_never_adds_one(
    variant: Any, node: str, tmp_path: Path
) -> None:
    page = tmp_path / "index.html"
    page.write_text(APP_PAGE, encoding="utf-8")
    env = {"API_URL": HOSTILE}
    assert inject(variant, tmp_path, page, env).returncode == 0
    first = page.read_bytes()
    assert inject(variant, tmp_path, page, env).returncode == 0
    assert page.read_bytes() == first
    assert page.read_text(encoding="utf-8").count("data-jobgate-config") == 1

    assert inject(variant, tmp_path, page, {"API_URL": "https://api.example.com"}).returncode == 0
    scripts = marked_scripts(page)
    assert len(scripts) == 1
    assert run_in_node(node, scripts[0]["text"], tmp_path)["__API_URL__"] == (
        "https://api.example.com"
    )
    assert without_marked_element(page.read_text(encoding="utf-8")) == APP_PAGE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg", "extracted.js", "index.html"]


def test_a_minified_page_with_an_uppercase_head(variant: Any, node: str, tmp_path: Path) -> None:
    original = '<html><HEAD><title>x</title></HEAD><body><div id="root"></div></body></html>'
    page = tmp_path / "index.html"
    page.write_text(original, encoding="utf-8")
    assert inject(variant, tmp_path, page, {"JOBGATE_API_URL": "/api"}).returncode == 0
    once = page.read_text(encoding="utf-8")
    assert once.startswith(f"<html><HEAD><title>x</title>{MARKER}\n")
    assert once.endswith("</script>\n</HEAD><body><div id=\"root\"></div></body></html>\n")
    assert inject(variant, tmp_path, page, {"JOBGATE_API_URL": "/api"}).returncode == 0
    assert page.read_text(encoding="utf-8") == once
    (script,) = marked_scripts(page)
    assert script["in_head"]
    assert run_in_node(node, script["text"], tmp_path) == {"__API_URL__": "/api", **DEFAULTS}


def test_the_page_can_be_written_elsewhere(variant: Any, tmp_path: Path) -> None:
    source = tmp_path / "image" / "index.html"
    source.parent.mkdir()
    source.write_text(APP_PAGE, encoding="utf-8")
    source.chmod(0o444)
    out = tmp_path / "run" / "jobgate" / "index.html"
    for _ in range(2):
        done = inject(variant, tmp_path, source, JOBGATE_INDEX_HTML_OUT=str(out))
        assert done.returncode == 0, done.stderr
    assert source.read_text(encoding="utf-8") == APP_PAGE
    assert out.read_text(encoding="utf-8").count("data-jobgate-config") == 1
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]
    assert oct(out.stat().st_mode & 0o777) == "0o644"


def test_a_page_without_a_head_end_stops_the_start(variant: Any, tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    original = "<html><body>no head end here</body></html>\n"
    page.write_text(original, encoding="utf-8")
    done = inject(variant, tmp_path, page, {}, JOBGATE_INDEX_HTML_OUT=str(tmp_path / "out.html"))
    assert done.returncode == 1
    assert b"no </head> in" in done.stderr
    assert page.read_text(encoding="utf-8") == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg", "index.html"]

    missing = inject(variant, tmp_path, tmp_path / "absent.html")
    assert missing.returncode == 1 and b"is not a file" in missing.stderr


def test_a_page_with_its_own_policy_gets_a_warning(variant: Any, tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(
        APP_PAGE.replace(
            "<title>",
            '<meta http-equiv="Content-Security-Policy" content="script-src \'self\'">\n'
            "    <title>",
        ),
        encoding="utf-8",
    )
    done = inject(variant, tmp_path, page)
    assert done.returncode == 0
    assert b"declares a Content-Security-Policy" in done.stderr
    assert len(marked_scripts(page)) == 1


def test_no_page_is_touched_unless_asked(variant: Any, tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(APP_PAGE, encoding="utf-8")
    assert run(variant, tmp_path / "config.js", {"API_URL": "/x"}).returncode == 0
    assert page.read_text(encoding="utf-8") == APP_PAGE
