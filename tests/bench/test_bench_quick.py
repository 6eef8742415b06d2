"""`python -m bench --quick --only jobgate` runs and writes a well-formed latest.json.

No timed assertion: figures on a shared machine say nothing about correctness.
Only jobgate runs, so the peers' venv (bench/.venv) is not needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_quick_run_writes_latest_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "BENCH_"))}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "jobgate", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    data = json.loads((tmp_path / "latest.json").read_text())
    assert {"cpu", "cores", "python", "valkey"} <= data["machine"].keys()
    ours = data["systems"]["jobgate"]
    for wl, metric in [("submit_seq", "jobs_per_s"), ("submit_conc", "p99_ms"),
                       ("drain", "jobs_per_s"), ("drain", "cpu_us_per_job")]:
        assert ours["median"][wl][metric] > 0
        assert ours["ratio_to_jobgate"][wl][metric] == pytest.approx(1.0)
    assert {"50%", "80%"} <= ours["latency"].keys()
    # the same engine archiving into SQL in its worker process, beside it
    assert data["systems"]["jobgate + history"]["median"]["drain"]["jobs_per_s"] > 0
    assert ours["idle"]["commands_per_s"] >= 0
    assert data["extra"]["jobgate_retention"]["noop"]["keys_per_job"] > 0
    modes = {h["mode"] for h in data["http_waiting"]}
    assert {"sse", "longpoll", "websocket"} <= modes
    assert "| jobgate |" in (tmp_path / "latest.md").read_text()
