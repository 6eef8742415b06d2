"""jobgate on a 3-primary Valkey Cluster beside a single Valkey, same run.

    python -m bench.cluster [--jobs 20000] [--owners 64] [--out bench/results]
                            [--topologies standalone,cluster,cluster_no_wait]

For each topology: submit with one producer (beside a bare PING and a script
that does nothing, on the same connection, in alternating blocks so both
see the same load: the floors of one round trip and of one script call),
submit with 32 producers, drain with one in-process worker at concurrency
32 (no-op handler), Valkey CPU per job on each primary, counted over the
jobs that live there (with the share of the jobs each holds: how even the
load is), bytes per finished job, and on the cluster the cost of WAIT for
one replica (`JOBGATE_REDIS_MIN_REPLICAS_ACK=0` against the default). Jobs
are spread over `--owners` users, so over the partitions; the one-producer
jobs are all the first owner's. Figures are medians of the rounds; the
machine is shared, so read ratios rather than absolutes. As in
`python -m bench`, every Valkey process runs on core 0 and this one on core 1
(`--no-pin` leaves them where the kernel puts them; on one core a round trip
is a pair of context switches, and the ratio to PING reads higher).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jobgate.embedded import EmbeddedValkey
from jobgate.services import Services
from jobgate.settings import Settings
from jobgate.worker import Worker


def _settings(url: str, mode: str, **over: Any) -> Settings:
    return Settings(redis_url=url, redis_mode=mode,  # type: ignore[arg-type]
                    namespace=f"b{uuid.uuid4().hex[:6]}", max_active_jobs_per_user=10**9,
                    log_level="WARNING", **over)


async def _info(svc: Services, section: str) -> list[dict[str, str]]:
    out = []
    for lane in svc.store.access.nodes.lanes():
        (text,) = await lane.send(lane.pack("INFO", section), 1)
        out.append(dict(line.split(":", 1) for line in text.splitlines() if ":" in line))
    return out


async def _cpu(svc: Services) -> list[float]:
    return [float(i["used_cpu_sys"]) + float(i["used_cpu_user"])
            for i in await _info(svc, "cpu")]


async def _memory(svc: Services) -> int:
    return sum(int(i["used_memory"]) for i in await _info(svc, "memory"))


BLOCK = 50  # calls of one kind in a row; the kinds alternate


async def _one_producer(svc: Services, n: int, owners: list[str]) -> dict[str, float]:
    store, a = svc.store, svc.store.access
    slot = store.keys.slot(store.keys.partition_of_owner(owners[0]))
    (sha,) = await a.send(slot, a.pack("SCRIPT", "LOAD", "return 0"), 1)
    ping, script = a.pack("PING"), a.pack("EVALSHA", sha, 0)

    async def pings(block: range) -> None:
        for _ in block:
            await a.send(slot, ping, 1)

    async def scripts(block: range) -> None:
        for _ in block:
            await a.send(slot, script, 1)

    async def submits(block: range) -> None:
        for i in block:
            await store.enqueue("noop", owners[0], i)

    kinds = {"ping": pings, "script": scripts, "submit": submits}
    took = dict.fromkeys(kinds, 0.0)
    for b, start in enumerate(range(0, n, BLOCK)):
        block = range(start, min(n, start + BLOCK))
        names = list(kinds)
        for name in names[b % 3:] + names[: b % 3]:  # each kind takes its turn first
            t = time.perf_counter()
            await kinds[name](block)
            took[name] += time.perf_counter() - t
    ping_us, script_us, submit_us = (took[k] / n * 1e6 for k in kinds)
    return {"ping_us": ping_us, "empty_script_us": script_us, "submit_us": submit_us,
            "submit_per_s": 1e6 / submit_us, "submit_over_ping": submit_us / ping_us}


def _many_owners(n: int, owners: list[str]) -> list[list[str]]:
    """The owner of each job of each of the 32 producers."""
    per = n // 32
    return [[owners[(k * per + i) % len(owners)] for i in range(per)] for k in range(32)]


async def _many_producers(svc: Services, n: int, owners: list[str]) -> float:
    store, plan = svc.store, _many_owners(n, owners)

    async def producer(mine: list[str]) -> None:
        for i, owner in enumerate(mine):
            await store.enqueue("noop", owner, i)

    t = time.perf_counter()
    await asyncio.gather(*(producer(mine) for mine in plan))
    return sum(map(len, plan)) / (time.perf_counter() - t)


def _jobs_per_shard(svc: Services, owners: list[str]) -> list[int]:
    """How many of these owners' jobs live on each primary (in `_info`'s order)."""
    k, nodes = svc.store.keys, svc.store.access.nodes
    at = {id(lane): i for i, lane in enumerate(nodes.lanes())}
    out = [0] * len(at)
    for owner in owners:
        out[at[id(nodes.home(k.slot(k.partition_of_owner(owner))))]] += 1
    return out


def _per_job(before: list[float], after: list[float], jobs: list[int]) -> list[float]:
    return [round((b - a) / max(j, 1) * 1e6, 1)
            for a, b, j in zip(before, after, jobs, strict=True)]


async def _noop(ctx: Any, payload: Any) -> Any:
    return payload


async def _drain(svc: Services, n: int) -> float:
    w = Worker(svc.store, {"noop": _noop}, svc.settings, concurrency=32, burst=True)
    t = time.perf_counter()
    await w.run()
    assert w.stats.completed >= n, w.stats
    return w.stats.completed / (time.perf_counter() - t)


async def one_round(url: str, mode: str, n: int, owners: list[str], **over: Any) -> dict[str, Any]:
    svc = await Services.open(_settings(url, mode, **over))
    try:
        one = min(n, 3000)
        out: dict[str, Any] = {"one_producer": await _one_producer(svc, one, owners)}
        many = [o for mine in _many_owners(n, owners) for o in mine]
        submitted = _jobs_per_shard(svc, many)
        drained = _jobs_per_shard(svc, many + [owners[0]] * one)
        mem0, cpu0 = await _memory(svc), await _cpu(svc)
        out["submit_32_per_s"] = await _many_producers(svc, n, owners)
        cpu1 = await _cpu(svc)
        out["drain_per_s"] = await _drain(svc, n)
        cpu2, mem1 = await _cpu(svc), await _memory(svc)
        # per job that lives on the shard: a shard holding more jobs is busier, not slower
        out["valkey_cpu_us_per_job_submit"] = _per_job(cpu0, cpu1, submitted)
        out["valkey_cpu_us_per_job_drain"] = _per_job(cpu1, cpu2, drained)
        out["share_of_jobs_submit"] = [round(j / sum(submitted), 3) for j in submitted]
        out["share_of_jobs_drain"] = [round(j / sum(drained), 3) for j in drained]
        out["bytes_per_finished_job"] = (mem1 - mem0) / n  # waiting in the archive outbox
        return out
    finally:
        await svc.close()


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rounds[0].items():
        if isinstance(v, dict):
            out[k] = _median([r[k] for r in rounds])
        elif isinstance(v, list):
            out[k] = [statistics.median(r[k][i] for r in rounds) for i in range(len(v))]
        else:
            out[k] = statistics.median(r[k] for r in rounds)
    return out


ROOT = str(Path(__file__).resolve().parent.parent)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, ROOT)
    from tests.valkey_cluster import LocalCluster

    owners = [f"u{i}" for i in range(args.owners)]
    tmp = Path(tempfile.mkdtemp(prefix="jobgate-bench-cluster-"))
    wanted = args.topologies
    single = EmbeddedValkey(tmp / "single", persistence=False)
    cluster = LocalCluster(tmp / "cluster")
    results: dict[str, list[dict[str, Any]]] = {t: [] for t in wanted}
    try:
        if "standalone" in wanted:
            single.start()
        if {"cluster", "cluster_no_wait"} & set(wanted):
            cluster.start()
        servers = [p.pid for p in [single.proc, *(n.proc for n in cluster.nodes)] if p]
        pinning = _pin(servers) if args.pin else "not pinned"
        for _ in range(args.rounds):
            for t in wanted:
                url, mode = (single.url, "standalone") if t == "standalone" else (
                    cluster.url, "cluster")
                over = {"redis_min_replicas_ack": 0} if t == "cluster_no_wait" else {}
                results[t].append(await one_round(url, mode, args.jobs, owners, **over))
    finally:
        cluster.stop()
        single.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"jobs": args.jobs, "owners": args.owners, "rounds": args.rounds, "pinning": pinning,
            **{k: _median(v) for k, v in results.items()}}


TOPOLOGIES = ("standalone", "cluster", "cluster_no_wait")


def _pin(pids: list[int]) -> str:
    """Valkey on core 0, the client on core 1 (the layout `python -m bench` uses)."""
    if (os.cpu_count() or 1) < 2:
        return "not pinned: one core"
    for pid in pids:
        os.sched_setaffinity(pid, {0})
    os.sched_setaffinity(0, {1})
    return "valkey on core 0, client on core 1"


def _topologies(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = set(names) - set(TOPOLOGIES)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(TOPOLOGIES)}")
    return names


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cluster")
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--owners", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="leave Valkey and the client where the kernel puts them")
    p.add_argument("--topologies", type=_topologies, default=list(TOPOLOGIES),
                   help="comma-separated, of " + ", ".join(TOPOLOGIES))
    args = p.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out = asyncio.run(run(args))
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cluster.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
