"""Fixtures for the browser tests: a real `jobgate up` server and headless Chromium.

The server is the real thing (API, workers, embedded Valkey, demo page)
started as a subprocess with a fresh data dir and key namespace; nothing of
it is mocked. Chromium is Debian's (`apt-get install chromium`): Playwright's
own browser download is not used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START_TIMEOUT_S = 60.0
# Inherited settings that would change what these tests see; each test sets its own.
SCRUBBED_ENV = (
    "JOBGATE_AUTH_SECRET",
    "JOBGATE_TOKEN",
    "JOBGATE_URL",
    "JOBGATE_API_URL",
    "API_URL",
    "JOB_POLL_INTERVAL_MS",
    "JOB_MAX_POLL_ATTEMPTS",
    "JOB_TIMEOUT_MS",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} not found; install it with `apt-get install chromium`"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `jobgate up`; `output()` is everything it printed so far."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def config_js(self) -> str:
        return httpx.get(f"{self.url}/config.js", timeout=10).text


class ServerExited(RuntimeError):
    """`jobgate up` stopped before it answered /healthz."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(f"jobgate up exited with {returncode}:\n{output}")
        self.returncode = returncode
        self.output = output


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # The server runs in its own session: take down anything it left behind (embedded Valkey).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = server.proc.poll()
        if code is not None:
            raise ServerExited(code, server.output())
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"jobgate up not healthy after {START_TIMEOUT_S} s:\n{server.output()}")


StartServer = Callable[..., Server]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Factory: `start_server(**env)` runs `jobgate up` with extra env and waits for /healthz."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> Server:
        tmp = tmp_path_factory.mktemp("jobgate")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(
            JOBGATE_DATA_DIR=str(tmp / "data"),
            JOBGATE_SIM_STEP_S="0.3",
            JOBGATE_NAMESPACE=f"t{uuid.uuid4().hex}",
            JOBGATE_LLM_BACKEND="simulated",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env)
        log_path = tmp / "server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jobgate.cli",
                    "up",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started.append(proc)
        server = Server(f"http://127.0.0.1:{port}", proc, log_path, env)
        _wait_healthy(server)
        return server

    yield start
    for proc in started:
        _stop(proc)


@pytest.fixture(scope="module")
def server(start_server: StartServer) -> Server:
    """One default server shared by the tests of a module."""
    return start_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; install it with `apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors, console errors, dialogs, failed loads."""

    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; `page.problems` collects what went wrong in it."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    problems = PageProblems()
    pg.on("pageerror", lambda e: problems.errors.append(str(e)))
    pg.on("console", lambda m: problems.console.append(m.text) if m.type == "error" else None)

    def on_dialog(d: Any) -> None:
        problems.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.on(
        "response",
        lambda r: problems.responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    pg.problems = problems
    # Every request URL, and the resume header of each event-stream connection.
    pg.requests = []
    pg.event_requests = []

    def on_request(r: Any) -> None:
        pg.requests.append(r.url)
        if r.url.split("?")[0].endswith("/events"):
            pg.event_requests.append(
                {"path": r.url.split("?")[0], "last_event_id": r.headers.get("last-event-id")}
            )

    pg.on("request", on_request)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
