"""A real nginx in front of a `jobgate api`, with a short read timeout.

Used by the proxy tests and by deploy/proxy/realscale.py. nginx runs in the
foreground as a child process (`daemon off`), as the current user, with
every path it writes under its own prefix directory; its access log is one
JSON object per request, so a test can count and inspect what went through.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TEMPLATE = Path(__file__).with_name("proxy.conf.template")
TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("/usr/sbin/nginx")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render(prefix: Path, port: int, upstream_port: int, read_timeout_s: float) -> str:
    """The config from the template. As root the workers stay root: they write
    under a temp dir that the default `nobody` user could not enter."""
    user = "user root;" if os.geteuid() == 0 else ""
    values = {
        "@USER@": user,
        "@PREFIX@": str(prefix),
        "@PORT@": str(port),
        "@UPSTREAM_PORT@": str(upstream_port),
        "@READ_TIMEOUT@": f"{int(read_timeout_s * 1000)}ms",
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    return text


@dataclass
class Nginx:
    """One nginx proxying 127.0.0.1:`port` to 127.0.0.1:`upstream_port`."""

    prefix: Path
    upstream_port: int
    read_timeout_s: float
    binary: str = field(default_factory=lambda: nginx_binary() or "nginx")
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def start(self, timeout: float = 10) -> Nginx:
        for name in TEMP_DIRS:
            (self.prefix / "tmp" / name).mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render(self.prefix, self.port, self.upstream_port, self.read_timeout_s))
        with self.error_log.open("ab") as err:
            self.popen = subprocess.Popen(
                [self.binary, "-p", str(self.prefix), "-c", str(conf),
                 "-g", f"daemon off; pid {self.prefix}/nginx.pid; error_log stderr;"],
                stdout=err, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self._wait_up(timeout)
        return self

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx did not come up: {self.error_log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def requests(self, contains: str = "", at_least: int = 0) -> list[dict[str, Any]]:
        """The access log's entries whose path contains `contains`, waiting (up to 5 s) for
        `at_least` of them: nginx logs a request just after its response has gone out."""
        deadline = time.monotonic() + 5
        while True:
            text = self.access_log.read_text() if self.access_log.exists() else ""
            entries = [json.loads(line) for line in text.splitlines() if line]
            found = [e for e in entries if contains in e["uri"]]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def is_nginx_timeout(response: httpx.Response) -> bool:
    """nginx's own 504 page, not an answer of the API."""
    return response.status_code == 504 and "nginx" in response.text
