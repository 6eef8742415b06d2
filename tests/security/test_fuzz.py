"""Fuzzing: schemathesis over /openapi.json against a real server, hypothesis on the models.

The schemathesis run is a subprocess (its own CLI, its own warnings) with a
fixed seed and a bounded number of cases per operation, so CI time is
predictable; it fails on any 5xx answer.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jobgate import serde
from jobgate.agents.models import AgentName, CoordinationMode, MultiAgentRequest
from jobgate.api.jobs import SubmitBody
from tests.security.conftest import keys_of
from tests.server import Stack

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_finds_no_server_error(api: Stack, r: redis.Redis, tmp_path: Path) -> None:
    before = len(keys_of(r, api.namespace))
    cmd = [
        str(SCHEMATHESIS), "run", f"{api.url}/openapi.json",
        "--checks", "not_a_server_error",
        "--header", f"Authorization: Bearer {api.token('fuzzer')}",
        "--max-examples", "20", "--seed", "8", "--no-shrink",
        "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "15", "--workers", "2", "--no-color",
        "--generation-database", "none",
        "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    print(out.stdout[-3000:])
    assert "not_a_server_error" in out.stdout or "passed" in out.stdout.lower()
    # the fuzzer did reach the engine: its valid submits made jobs
    assert len(keys_of(r, api.namespace)) > before


# -- hypothesis on the request models ---------------------------------------------

json_leaf = (
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.text(st.characters(codec=None), max_size=20)
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def deep(depth: int) -> Any:
    v: Any = "leaf"
    for _ in range(depth):
        v = [v]
    return v


requests = st.fixed_dictionaries(
    {"query": st.text(st.characters(codec=None), min_size=0, max_size=30)},
    optional={
        "coordination_mode": st.sampled_from([m.value for m in CoordinationMode]) | st.text(),
        "primary_agent": st.sampled_from([a.value for a in AgentName]) | st.text(max_size=5),
        "supporting_agents": st.lists(st.sampled_from([a.value for a in AgentName]),
                                      max_size=9),
        "context": st.dictionaries(st.text(max_size=8), json_values, max_size=5)
        | st.integers(0, 400).map(lambda d: {"deep": deep(d)})
        | st.builds(lambda big: {"n": big}, st.integers(2**63, 2**70)),
        "user_id": st.text(max_size=10) | st.none(),
        "product_id": st.text(max_size=10) | st.none(),
    },
)


def _plain(value: Any) -> bool:
    """Whether the value is JSON as RFC 8259 has it (no NaN, no infinities)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_an_accepted_request_is_one_the_store_can_keep(data: dict[str, Any]) -> None:
    """What the model accepts, the API can store (orjson) and read back unchanged."""
    try:
        model = MultiAgentRequest.model_validate(data)
    except ValidationError:
        return
    dumped = model.model_dump(mode="json")
    stored = serde.dumps(dumped)  # what enqueue writes: must never raise
    assert serde.loads(stored) == dumped
    assert _plain(dumped), "NaN or Infinity accepted: it would be stored as null"
    assert MultiAgentRequest.model_validate(serde.loads(stored)) == model


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=4))
def test_submit_body_rejects_anything_but_its_fields(extra: dict[str, Any]) -> None:
    body_model = SubmitBody[MultiAgentRequest]  # type: ignore[valid-type]
    body = {"request": {"query": "q"}, **extra}
    unknown = set(extra) - {"request", "priority"}
    try:
        body_model.model_validate(body)
    except ValidationError:
        return
    assert not unknown, f"unknown fields accepted: {unknown}"


@pytest.mark.parametrize("depth", [10, 200, 260, 1000])
def test_deep_context_is_accepted_only_when_storable(depth: int) -> None:
    try:
        model = MultiAgentRequest.model_validate({"query": "q", "context": {"a": deep(depth)}})
    except (ValidationError, RecursionError):
        return
    serde.dumps(model.model_dump(mode="json"))
