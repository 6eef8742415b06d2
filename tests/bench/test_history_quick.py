"""`python -m bench.history --quick` runs on both databases and writes well-formed figures.

No timed assertion: figures on a shared machine say nothing about correctness.
The analytics it times are checked for their numbers in tests/history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_quick_history_bench_writes_its_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "BENCH_"))}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(
        [sys.executable, "-m", "bench.history", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=290,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    data = json.loads((tmp_path / "history.json").read_text())
    assert data["sizes"] == [2000]
    ran = {n: d for n, d in data["dialects"].items() if "skipped" not in d}
    assert "sqlite" in ran
    for d in ran.values():
        assert d["upsert"]["insert_jobs_per_s"] > 0 and d["upsert"]["reupsert_jobs_per_s"] > 0
        assert d["archiver"]["jobs"] == 400 and d["archiver"]["jobs_per_s"] > 0
        figures = d["analytics"]["2000"]
        assert figures["rows"] == 2000
        queries = figures["queries"]
        assert queries["all, 30 days by day"]["jobs"] == 2000  # every generated row
        assert all(q["ms"] > 0 for q in queries.values())
        assert figures["search_hits"] >= 1
        assert "ix_jobgate_jobs_" in figures["plans"]["all, 7 days"]
    md = (tmp_path / "history.md").read_text()
    assert "## Archive throughput" in md and "| all, 7 days by agent |" in md
