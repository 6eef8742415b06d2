"""Runs the TypeScript client's own suite from pytest, so one `pytest` run covers it.

`npm test` type-checks (tsc strict), runs the vitest unit tests against a
fake fetch, and checks that the bundles committed under
src/jobgate/web/assets/ match a fresh build of the source.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "clients" / "js"

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm (Node 20+) not on PATH")


@pytest.mark.timeout(600)
def test_js_client_suite() -> None:
    if not (JS / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=400)
    run = subprocess.run(["npm", "test"], cwd=JS, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
