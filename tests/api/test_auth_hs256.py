"""HS256 tokens as before, operators' tokens from `jobgate token --admin`, and a
server that starts with any one sign-in method but refuses to start with none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import jwt

from jobgate.api.auth import ADMIN_SCOPE, mint_token, verify_token
from tests.server import SECRET, Stack

PREFIX = "/api/multi-agent"


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBGATE_")}
    return subprocess.run([sys.executable, "-m", "jobgate.cli", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_token_admin_mints_an_operator(tmp_path: Path) -> None:
    out = cli("token", "--sub", "ops", "--admin", JOBGATE_AUTH_SECRET=SECRET)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "ops" and claims["scope"] == ADMIN_SCOPE
    assert verify_token(SECRET, token).is_admin
    plain = cli("token", "--sub", "alice", JOBGATE_AUTH_SECRET=SECRET).stdout.strip()
    assert "scope" not in jwt.decode(plain, SECRET, algorithms=["HS256"])
    assert not verify_token(SECRET, plain).is_admin


def test_hs256_tokens_with_and_without_scope_work(stack: Stack) -> None:
    for token in (mint_token(SECRET, "alice"), mint_token(SECRET, "ops", scopes=[ADMIN_SCOPE])):
        resp = httpx.get(f"{stack.url}{PREFIX}/jobs", timeout=30,
                         headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, resp.text


def test_the_api_refuses_to_start_without_a_sign_in_method(tmp_path: Path) -> None:
    out = cli("api", "--port", "1", JOBGATE_DATA_DIR=str(tmp_path), JOBGATE_AUTH_SECRET="",
              JOBGATE_REDIS_URL="redis://127.0.0.1:1/0")
    assert out.returncode == 2
    assert "no sign-in method" in out.stderr + out.stdout
