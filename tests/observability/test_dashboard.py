"""The Grafana dashboard queries only metrics (and labels) that jobgate exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from jobgate import metrics

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "jobgate-dashboard.json"
NAME = re.compile(r"\bjobgate_[a-zA-Z0-9_]+")
SELECTOR = re.compile(r"(jobgate_[a-zA-Z0-9_]+)\{([^}]*)\}")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
PROMQL_WORDS = {"le"}  # histogram buckets carry `le` besides the metric's own labels


def exposed() -> dict[str, set[str]]:
    """Every sample name jobgate's collectors write, with their label names.

    prometheus_client appends `_total` (and `_created`) to counters, and
    `_bucket`/`_sum`/`_count` to histograms.
    """
    out: dict[str, set[str]] = {}
    for obj in vars(metrics).values():
        if not isinstance(obj, MetricWrapperBase):
            continue
        labels = set(obj._labelnames)
        if isinstance(obj, Counter):
            suffixes = ["_total", "_created"]
        elif isinstance(obj, Histogram):
            suffixes = ["_bucket", "_sum", "_count", "_created"]
            labels |= {"le"}
        else:
            assert isinstance(obj, Gauge)
            suffixes = [""]
        for s in suffixes:
            out[obj._name + s] = labels
    return out


def exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]


def test_dashboard_is_valid_grafana_json() -> None:
    board = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and board["uid"] and board["title"]
    variables = {v["name"] for v in board["templating"]["list"]}
    for p in board["panels"]:
        assert p["datasource"]["uid"].strip("${}") in variables
        assert p["targets"], p["title"]
        assert {"h", "w", "x", "y"} <= set(p["gridPos"])


def test_every_metric_jobgate_defines_is_on_the_dashboard() -> None:
    used = {n for _, e in exprs() for n in NAME.findall(e)}
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            assert any(u.startswith(obj._name) for u in used), f"{obj._name} is not charted"


@pytest.mark.parametrize(("title", "expr"), exprs())
def test_every_expr_references_existing_metrics_and_labels(title: str, expr: str) -> None:
    names = exposed()
    used = NAME.findall(expr)
    assert used, f"{title}: no jobgate metric in {expr}"
    for n in used:
        assert n in names, f"{title}: {n} is not exposed (counters end in _total)"
    allowed = set().union(*(names[n] for n in used)) | PROMQL_WORDS
    for metric, matchers in SELECTOR.findall(expr):
        for m in filter(None, (x.strip() for x in matchers.split(","))):
            label = re.split(r"=~|!=|!~|=", m)[0].strip()
            assert label in names[metric], f"{title}: {metric} has no label {label}"
    for group in BY.findall(expr):
        for label in filter(None, (x.strip() for x in group.split(","))):
            assert label in allowed, f"{title}: no metric here has the label {label}"
