"""jobgate on a 3-primary Valkey Cluster beside a single Valkey, same run.

    python -m bench.cluster [--jobs 20000] [--owners 64] [--out bench/results]

For each topology: submit with one producer (beside a bare PING on the same
kind of connection: the floor for one round trip), submit with 32
producers, drain with one in-process worker at concurrency 32 (no-op
handler), Valkey CPU per job on each primary (how even the load is), bytes
per finished job, and on the cluster the cost of WAIT for one replica
(`JOBGATE_REDIS_MIN_REPLICAS_ACK=0` against the default). Jobs are spread
over `--owners` users, so over the partitions. Figures are medians of the
rounds; the machine is shared, so read ratios rather than absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def _one_producer(svc: Services, n: int, owners: list[str]) -> dict[str, float]:
    store, a = svc.store, svc.store.access
    slot = store.keys.slot(store.keys.partition_of_owner(owners[0]))
    t = time.perf_counter()
    for _ in range(n):
        await a.send(slot, a.pack("PING"), 1)
    ping_us = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for i in range(n):
        await store.enqueue("noop", owners[0], i)
    submit_us = (time.perf_counter() - t) / n * 1e6
    return {"ping_us": ping_us, "submit_us": submit_us, "submit_per_s": 1e6 / submit_us,
            "submit_over_ping": submit_us / ping_us}


async def _many_producers(svc: Services, n: int, owners: list[str]) -> float:
    store, per = svc.store, n // 32

    async def producer(k: int) -> None:
        for i in range(per):
            await store.enqueue("noop", owners[(k * per + i) % len(owners)], i)

    t = time.perf_counter()
    await asyncio.gather(*(producer(k) for k in range(32)))
    return 32 * per / (time.perf_counter() - t)


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
        out: dict[str, Any] = {"one_producer": await _one_producer(svc, min(n, 3000), owners)}
        mem0, cpu0 = await _memory(svc), await _cpu(svc)
        out["submit_32_per_s"] = await _many_producers(svc, n, owners)
        cpu1 = await _cpu(svc)
        out["drain_per_s"] = await _drain(svc, n)
        cpu2, mem1 = await _cpu(svc), await _memory(svc)
        jobs = n + min(n, 3000)
        out["valkey_cpu_us_per_job_submit"] = [round((b - a) / n * 1e6, 1)
                                               for a, b in zip(cpu0, cpu1, strict=True)]
        out["valkey_cpu_us_per_job_drain"] = [round((b - a) / jobs * 1e6, 1)
                                              for a, b in zip(cpu1, cpu2, strict=True)]
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
    single = EmbeddedValkey(tmp / "single", persistence=False)
    single.start()
    cluster = LocalCluster(tmp / "cluster").start()
    results: dict[str, list[dict[str, Any]]] = {"standalone": [], "cluster": [],
                                               "cluster_no_wait": []}
    try:
        for _ in range(args.rounds):
            results["standalone"].append(await one_round(single.url, "standalone", args.jobs,
                                                         owners))
            results["cluster"].append(await one_round(cluster.url, "cluster", args.jobs, owners))
            results["cluster_no_wait"].append(await one_round(
                cluster.url, "cluster", args.jobs, owners, redis_min_replicas_ack=0))
    finally:
        cluster.stop()
        single.stop()
    return {"jobs": args.jobs, "owners": args.owners, "rounds": args.rounds,
            **{k: _median(v) for k, v in results.items()}}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cluster")
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--owners", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
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
