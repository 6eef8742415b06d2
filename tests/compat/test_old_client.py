"""The app's own, unchanged browser helper against a real `jobgate up`.

tests/compat/old_client.mjs follows the rules of the client jobgate replaces
(issue 14); run_old_client.mjs runs it in node and counts its requests. Each
test sends the app's exact request bodies and checks what the app would see:
a `MultiAgentResponse` for every agent of the roster, a failed job ended on
the first poll that sees it, and what the old client makes of a cancel.

Jobs fail for real: a second `jobgate up` talks to a local chat-completions
server that answers 401. The same server can hold its answer until the test
releases it, which keeps a job running while the test cancels it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from jobgate.agents.models import MultiAgentResponse

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_old_client.mjs"
SECRET = "compat-secret-0123456789abcdef0123456789"
PREFIX = "/api/multi-agent"
START_TIMEOUT_S = 90.0
CLIENT_TIMEOUT_S = 100.0
# Fast polling for the tests (the app's own: every 5 s, 120 times, 10 minutes).
# The budget only bounds a broken run; a passing one ends long before it.
FAST = {"pollInterval": 100, "maxPollAttempts": 600, "timeout": 90_000}
ROSTER = (
    "research", "analysis", "ideation", "strategy", "validation", "prd_authoring", "summary",
    "requirements", "scoring", "export", "rag", "v0", "lovable",
)
MODES = ("sequential", "parallel", "collaborative", "debate", "enhanced_collaborative")

# The app's requests as its frontend sends them (the client wraps each in
# {"request": ...}). The issue fixes the agents, mode and context keys; the
# texts and form answers are ours.
FORM = {
    "problem": "Busy dog owners cannot find a reliable walker at short notice.",
    "target_users": "Urban professionals with one dog and long office days.",
    "solution_idea": "An app that books a vetted, insured walker within two hours.",
}


def phase_context(phase_id: str, phase_name: str) -> dict[str, Any]:
    return {"product_id": "prod-7", "phase_id": phase_id, "phase_name": phase_name,
            "form_data": FORM}


APP_BODIES: dict[str, dict[str, Any]] = {
    "phase-rag-research": {
        "query": "Generate solution ideas for busy dog owners who need a walker at short notice",
        "user_id": "app-user-1",
        "primary_agent": "ideation",
        "supporting_agents": ["rag", "research"],
        "coordination_mode": "enhanced_collaborative",
        "context": phase_context("phase-2", "Ideation"),
    },
    "phase-rag-analysis": {
        "query": "Analyse the market for on-demand dog walking for urban professionals",
        "user_id": "app-user-1",
        "primary_agent": "strategy",
        "supporting_agents": ["rag", "analysis"],
        "coordination_mode": "enhanced_collaborative",
        "context": phase_context("phase-3", "Market Analysis"),
    },
    "chat": {
        "query": "Which users should we target first with the walker app?",
        "user_id": "app-user-1",
        "primary_agent": "research",
        "supporting_agents": ["rag"],
        "coordination_mode": "collaborative",
        "context": {"product_id": "prod-7", "form_data": FORM},
    },
    "refine": {
        "query": "Refine the solution idea: a vetted walker booked within two hours",
        "user_id": "app-user-1",
        "primary_agent": "ideation",
        "supporting_agents": ["rag", "validation"],
        "coordination_mode": "enhanced_collaborative",
        "context": phase_context("phase-2", "Ideation"),
    },
}


def roster_body(primary: str, mode: str) -> dict[str, Any]:
    """A phase-form request with `primary` leading; rag always among the others."""
    supporting = [a for a in ("rag", "research", "analysis") if a != primary][:2]
    return {
        "query": f"Take the dog-walking idea forward as the {primary} agent",
        "user_id": "app-user-1",
        "primary_agent": primary,
        "supporting_agents": supporting,
        "coordination_mode": mode,
        "context": phase_context("phase-4", primary),
    }


# -- the servers -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Up:
    """A running `jobgate up` on its own data dir and port."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def token(self, sub: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": sub, "iat": now, "exp": now + 3600}, SECRET, "HS256")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_up(tmp: Path, **extra_env: str) -> Up:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JOBGATE_", "JOB_")) and k != "API_URL"}
    env.update(
        JOBGATE_DATA_DIR=str(tmp / "data"),
        JOBGATE_AUTH_SECRET=SECRET,
        JOBGATE_SIM_STEP_S="0.02",
        JOBGATE_NAMESPACE=f"compat{uuid.uuid4().hex[:8]}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    port, log = free_port(), tmp / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobgate.cli", "up", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    up = Up(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jobgate up exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{up.url}/readyz", timeout=2).status_code == 200:
                return up
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    up.stop()
    raise TimeoutError(f"jobgate up not ready in {START_TIMEOUT_S} s:\n{log.read_text()}")


class RefusingLLM(ThreadingHTTPServer):
    """A chat-completions server whose every answer is 401 (a revoked key).

    With `hold` set, each request waits for `release` before that answer:
    the job's agent call stays in flight as long as the test needs.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RefusingHandler)
        self.requests = 0
        self.hold = False
        self.called = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller gone away (a cancelled job) is expected here, not an error."""


class _RefusingHandler(BaseHTTPRequestHandler):
    server: RefusingLLM

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.requests += 1
        self.server.called.set()
        if self.server.hold:
            self.server.release.wait(timeout=120)
        body = json.dumps({"error": {"message": "Incorrect API key provided: sk-t***",
                                     "type": "invalid_request_error",
                                     "code": "invalid_api_key"}}).encode()
        try:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node not installed: cannot run the old client")
    return found


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    server = start_up(tmp_path_factory.mktemp("up"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm() -> Iterator[RefusingLLM]:
    server = RefusingLLM()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def failing_up(tmp_path_factory: pytest.TempPathFactory, llm: RefusingLLM) -> Iterator[Up]:
    server = start_up(
        tmp_path_factory.mktemp("failing"),
        JOBGATE_LLM_BACKEND="openai", JOBGATE_LLM_BASE_URL=llm.url,
        JOBGATE_LLM_API_KEY="sk-test-revoked-0000000000", JOBGATE_LLM_MODEL="test-model",
    )
    yield server
    server.stop()


# -- the old client ----------------------------------------------------------


@dataclass
class Report:
    """What the old client did: its outcome and every request it made."""

    outcome: str
    requests: list[dict[str, Any]]
    logged: list[str]
    progress: list[str]
    elapsed_ms: int
    value: Any = None
    message: str | None = None

    @property
    def calls(self) -> list[str]:
        """Each request as "METHOD last-path-segment", e.g. "GET status"."""
        return [f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in self.requests]

    @property
    def polled(self) -> list[str]:
        return [r["job_status"] for r in self.requests if r["path"].endswith("/status")]


def spec_file(tmp_path: Path, up: Up, request: dict[str, Any], options: dict[str, Any],
              hold: bool = False) -> Path:
    spec = tmp_path / f"spec-{uuid.uuid4().hex[:8]}.json"
    spec.write_text(json.dumps({
        "apiUrl": up.url, "token": up.token(f"app-{uuid.uuid4().hex[:8]}"),
        "request": request, "options": options, "holdFirstPoll": hold,
    }))
    return spec


def report_of(stdout: str) -> Report:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the old client printed no report"
    return Report(**json.loads(lines[-1]))


def run_old_client(node: str, tmp_path: Path, up: Up, request: dict[str, Any],
                   options: dict[str, Any] | None = None) -> Report:
    spec = spec_file(tmp_path, up, request, options or FAST)
    done = subprocess.run([node, str(RUNNER), str(spec)], capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    return report_of(done.stdout)


def assert_completed(report: Report, request: dict[str, Any]) -> MultiAgentResponse:
    assert report.outcome == "returned", (report.message, report.logged)
    # submit, then polls until one sees `completed`, then the result: nothing else
    assert report.calls == ["POST submit", *["GET status"] * len(report.polled), "GET result"]
    assert set(report.polled[:-1]) <= {"pending", "processing"} and report.polled[-1] == "completed"
    assert [r["status"] for r in report.requests] == [202, *[200] * (len(report.requests) - 1)]
    assert report.logged == []  # no error swallowed on the way
    response = MultiAgentResponse.model_validate(report.value)
    assert response.primary_agent == request["primary_agent"]
    assert response.coordination_mode == request["coordination_mode"]
    assert response.response.strip()
    took_part = {i.to_agent for i in response.agent_interactions}
    assert {request["primary_agent"], *request["supporting_agents"]} <= took_part
    return response


# -- the tests ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(APP_BODIES))
def test_the_apps_requests_complete(node: str, up: Up, tmp_path: Path, name: str) -> None:
    body = APP_BODIES[name]
    response = assert_completed(run_old_client(node, tmp_path, up, body), body)
    assert any(i.to_agent == "rag" for i in response.agent_interactions)


@pytest.mark.parametrize(
    ("primary", "mode"),
    [(agent, MODES[i % len(MODES)]) for i, agent in enumerate(ROSTER)],
    ids=[f"{agent}-{MODES[i % len(MODES)]}" for i, agent in enumerate(ROSTER)],
)
def test_every_roster_agent_as_primary_completes(
    node: str, up: Up, tmp_path: Path, primary: str, mode: str
) -> None:
    body = roster_body(primary, mode)
    assert_completed(run_old_client(node, tmp_path, up, body), body)


def test_a_failed_job_ends_on_the_first_poll_that_sees_it(
    node: str, failing_up: Up, llm: RefusingLLM, tmp_path: Path
) -> None:
    body = APP_BODIES["phase-rag-research"]
    # A smaller budget, so that a client which misses the failure says so in 30 s.
    budget = {"pollInterval": 100, "maxPollAttempts": 300, "timeout": 60_000}
    report = run_old_client(node, tmp_path, failing_up, body, budget)

    assert report.outcome == "threw"
    assert report.message is not None and report.message.startswith("Job failed:"), (
        f"{report.message!r} after {len(report.requests)} requests; it logged "
        f"{len(report.logged)} errors, the first: {report.logged[:1]}"
    )
    assert "HTTP 401" in report.message
    # submit + polls until the first `failed` + one result, and not one request more
    polls = len(report.polled)
    assert report.calls == ["POST submit", *["GET status"] * polls, "GET result"]
    assert len(report.requests) == 1 + polls + 1
    assert report.polled.count("failed") == 1 and report.polled[-1] == "failed"
    assert set(report.polled[:-1]) <= {"pending", "processing"}
    assert report.logged == []
    assert llm.requests >= 1  # it failed because the LLM refused, not before


def test_a_cancelled_job_is_polled_until_the_clients_budget_ends(
    node: str, failing_up: Up, llm: RefusingLLM, tmp_path: Path
) -> None:
    """The old client knows no `cancelled`: it polls on until its budget is spent.

    Recorded, not changed: the old client has no way to cancel (its options
    take no abort signal), so the cancel comes from elsewhere, and `cancelled`
    must stay `cancelled` on the wire for every other client. The budget here
    is 6 polls 50 ms apart; with the app's own (120 polls, 5 s apart) the page
    polls for 10 minutes (the submit and 120 polls), then shows its timeout error.
    """
    budget = {"pollInterval": 50, "maxPollAttempts": 6, "timeout": 600_000}
    llm.called.clear()
    llm.hold = True
    spec = spec_file(tmp_path, failing_up, APP_BODIES["refine"], budget, hold=True)
    client = subprocess.Popen([node, str(RUNNER), str(spec)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None and client.stdin is not None
        line = client.stdout.readline()
        submitted = json.loads(line or "{}")
        assert submitted.get("event") == "submitted", (line, client.stderr.read())
        job_id = submitted["job_id"]
        token = json.loads(spec.read_text())["token"]
        assert llm.called.wait(timeout=60), "the job never reached the LLM"
        with httpx.Client(base_url=failing_up.url + PREFIX, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as api:
            assert api.post(f"/jobs/{job_id}/cancel").status_code in (200, 202)
            deadline = time.monotonic() + 60
            while api.get(f"/jobs/{job_id}/status", params={"wait": 5}).json()["status"] \
                    != "cancelled":
                assert time.monotonic() < deadline, "cancel did not land"
        client.stdin.write("go\n")  # the gate: the client's first poll goes out now
        client.stdin.flush()
        out, err = client.communicate(timeout=CLIENT_TIMEOUT_S)
    finally:
        llm.hold = False
        llm.release.set()
        if client.poll() is None:
            client.kill()
            client.wait(timeout=10)
    report = report_of(out)

    assert report.outcome == "threw", err
    assert report.message == "Job processing timeout: maximum polling attempts reached"
    assert report.calls == ["POST submit", *["GET status"] * 6]  # never asks for /result
    assert report.polled == ["cancelled"] * 6
    assert report.progress == ["cancelled"] * 6
    assert report.logged == []


def test_an_unknown_agent_shows_object_object_in_the_old_client(
    node: str, up: Up, tmp_path: Path
) -> None:
    """Recorded: the old client throws `detail || message`, and a 422's `detail`
    is FastAPI's list, so it shows "[object Object]"; the body's `message`
    names the allowed agents for any client that reads it."""
    body = {**APP_BODIES["chat"], "supporting_agents": ["rag", "wizard"]}
    report = run_old_client(node, tmp_path, up, body)
    assert report.outcome == "threw" and report.message == "[object Object]"
    assert report.calls == ["POST submit"] and report.requests[0]["status"] == 422

    token = up.token("app-direct")
    r = httpx.post(f"{up.url}{PREFIX}/submit", json={"request": body},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 422
    message = r.json()["message"]
    assert "wizard" in message and all(f"'{a}'" in message for a in ROSTER), message
