"""The frontend's nginx config, run for real on loopback.

deploy/frontend/nginx.conf is served as the image would serve it (paths moved
into a temp dir): the page, the generated /config.js with the right type and
no caching, /healthz, and compose's api-proxy.conf passing /api/multi-agent/
through to an upstream.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.k8s_render import DEPLOY

pytestmark = pytest.mark.proxy

FRONTEND = DEPLOY / "frontend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"upstream saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def frontend(tmp_path: Path, upstream: int) -> Iterator[str]:
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("nginx not installed: the frontend config is not served for real")
    port = free_port()
    html, run_dir, extra = tmp_path / "html", tmp_path / "run", tmp_path / "jobgate.d"
    for directory in (html, run_dir, extra):
        directory.mkdir()
    (html / "index.html").write_text('<script src="/config.js"></script>page')
    subprocess.run(
        ["sh", str(FRONTEND / "docker-entrypoint.sh")],
        env={"PATH": "/usr/bin:/bin", "JOBGATE_CONFIG_JS": str(run_dir / "config.js")},
        check=True,
        timeout=30,
    )
    site = (
        (FRONTEND / "nginx.conf")
        .read_text()
        .replace("listen 8080;", f"listen 127.0.0.1:{port};")
        .replace("listen [::]:8080;", "")
        .replace("/usr/share/nginx/html", str(html))
        .replace("/tmp/jobgate/", f"{run_dir}/")
        .replace("/etc/nginx/jobgate.d/", f"{extra}/")
    )
    (extra / "api-proxy.conf").write_text(
        (FRONTEND / "api-proxy.conf").read_text().replace("api:8000", f"127.0.0.1:{upstream}")
    )
    (tmp_path / "nginx.conf").write_text(f"""
        daemon off;
        user root;
        worker_processes 1;
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{}}
        http {{
            include /etc/nginx/mime.types;
            access_log off;
            client_body_temp_path {tmp_path}/body;
            proxy_temp_path {tmp_path}/proxy;
            {site}
        }}
    """)
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serves_generated_config_js_uncached(frontend: str) -> None:
    response = httpx.get(f"{frontend}/config.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "window.__JOB_POLL_INTERVAL_MS__ = 5000;" in response.text


def test_serves_the_page_and_health(frontend: str) -> None:
    page = httpx.get(f"{frontend}/")
    assert page.status_code == 200 and page.text.endswith("page")
    assert page.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{frontend}/healthz").text == "ok\n"
    assert httpx.get(f"{frontend}/missing").status_code == 404


def test_compose_snippet_proxies_the_job_api(frontend: str) -> None:
    response = httpx.get(f"{frontend}/api/multi-agent/jobs/abc/status")
    assert response.text == "upstream saw /api/multi-agent/jobs/abc/status"
    assert httpx.get(f"{frontend}/metrics").status_code == 404
