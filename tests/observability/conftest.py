"""A real API process and a worker process serving /metrics, logging JSON at INFO."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobgate.embedded import EmbeddedValkey
from tests.chaos.harness import Cluster


@pytest.fixture
def cluster(valkey: EmbeddedValkey, namespace: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(valkey.url, namespace, tmp_path / "cluster", extra_env={
        "JOBGATE_LOG_LEVEL": "INFO", "JOBGATE_SIM_STEP_S": "0.05",
        "JOBGATE_RETRY_BASE_S": "0.05", "JOBGATE_RETRY_MAX_S": "0.1"})
    yield c
    c.stop()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of a /metrics page, keyed by (name, labels)."""
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text) for s in fam.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    hits = [v for (n, ls), v in samples.items() if n == name and want <= ls]
    assert hits, f"no sample {name}{labels or ''}"
    return sum(hits)


def value_or_zero(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)
