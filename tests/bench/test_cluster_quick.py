"""`python -m bench.cluster` runs on both topologies and reports what docs/cluster.md
quotes. No timed assertion: figures on a shared machine say nothing about correctness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_a_small_run_reports_every_figure(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "BENCH_"))}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--jobs", "96", "--rounds", "1",
         "--topologies", "standalone,cluster_no_wait", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=230,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    data = json.loads((tmp_path / "cluster.json").read_text())
    assert set(data) == {"jobs", "owners", "rounds", "pinning", "standalone", "cluster_no_wait"}
    for topology, shards in [("standalone", 1), ("cluster_no_wait", 3)]:
        got = data[topology]
        one = got["one_producer"]
        assert one["ping_us"] > 0 and one["empty_script_us"] > 0
        assert one["submit_over_ping"] == pytest.approx(one["submit_us"] / one["ping_us"])
        for phase in ("submit", "drain"):
            assert len(got[f"valkey_cpu_us_per_job_{phase}"]) == shards
            assert sum(got[f"share_of_jobs_{phase}"]) == pytest.approx(1.0, abs=0.01)
        # as many one-producer jobs as the others, all the first owner's: its shard's
        # share of the drain is half its share of the submits, plus one half
        shares = zip(got["share_of_jobs_submit"], got["share_of_jobs_drain"], strict=True)
        assert any(d == pytest.approx((s + 1) / 2, abs=0.002) for s, d in shares)


def test_an_unknown_topology_is_refused() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--topologies", "standalone,mainframe"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 2 and "choose among standalone, cluster, cluster_no_wait" in p.stderr
