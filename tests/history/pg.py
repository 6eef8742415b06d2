"""A throwaway PostgreSQL for tests: Debian's binaries, a cluster in a temp dir.

PostgreSQL refuses to run as root, so under root initdb and the server run
as an unprivileged user (`nobody`: Popen drops to its uid/gid, so the child
is postgres itself and gets our signals); its data dir is made in /tmp (not
pytest's 0700 tree) and handed to that user. Trust auth on 127.0.0.1
only, fsync off: it is a test server.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUN_AS = "nobody"
_PR_SET_PDEATHSIG = 1
SUPERUSER = "jobgate"


def find_bin() -> Path | None:
    """The newest installed /usr/lib/postgresql/<ver>/bin with initdb, or None."""
    root = Path("/usr/lib/postgresql")
    found = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def unavailable_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if find_bin() is None:
        return "PostgreSQL is not installed (scripts/test.sh installs Debian's postgresql as root)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no user {RUN_AS!r} to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with(parent: int) -> Callable[[], None]:
    """A preexec_fn: the server stops (fast shutdown) if pytest dies without stopping it.
    It runs after Popen switched user, so the switch does not clear the setting."""
    def arm() -> None:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
        if os.getppid() != parent:  # pytest died before the prctl took hold
            os.kill(os.getpid(), signal.SIGINT)

    return arm


class PgServer:
    """One PostgreSQL cluster: `start()`, `stop()` (fast shutdown), `start()` again."""

    def __init__(self) -> None:
        bindir = find_bin()
        assert bindir is not None, unavailable_reason()
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="jobgate-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True, cwd=self.dir, **self._as_user,
        )

    def start(self, timeout: float = 60) -> None:
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 — lives as long as the server
        self.proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data),
             "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.dir),
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=log, stderr=log, cwd=self.dir, preexec_fn=_die_with(os.getpid()),
            **self._as_user,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.dir / 'server.log').read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError("postgres did not start")
            time.sleep(0.05)

    def _ready(self) -> bool:
        r = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False, capture_output=True,
        )
        return r.returncode == 0

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are cut off, the data stays."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def create_database(self) -> str:
        """A fresh empty database; its asyncpg URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, name],
            check=True, capture_output=True,
        )
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
