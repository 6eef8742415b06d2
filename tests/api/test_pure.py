"""Pure parts of the API: polling advice, Prefer parsing, /config.js encoding."""

from __future__ import annotations

import json
import subprocess

import pytest

from jobgate.api.jobs import parse_prefer
from jobgate.api.views import retry_after
from jobgate.api.web import browser_config, config_js, script_safe_json
from jobgate.settings import Settings


def test_retry_after_grows_with_load_and_is_capped() -> None:
    quiet = retry_after(None, 0)
    busy = retry_after(None, 1000)
    assert quiet == 2 and busy > quiet
    assert retry_after(None, 10**6) == 30
    assert retry_after(400.0, 0) == 10 and retry_after(0.5, 0) == 1


@pytest.mark.parametrize(("header", "want"), [
    ("wait=10", 10.0), ("respond-async, wait=5", 5.0), ("wait=999", 50.0),
    ("respond-async", None), (None, None), ("handling=lenient", None),
])
def test_parse_prefer(header: str | None, want: float | None) -> None:
    assert parse_prefer(header, 50.0) == want


HOSTILE = ['"; alert(1); "', "</script><script>alert(1)</script>", "a & b | c",
           "line\u2028sep", "back\\slash", "ünïcødé"]


@pytest.mark.parametrize("value", HOSTILE)
def test_script_safe_json_round_trips_and_cannot_close_the_script(value: str) -> None:
    text = script_safe_json(value)
    assert "<" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_config_js_values_survive_a_javascript_engine() -> None:
    s = Settings(api_url=HOSTILE[1], job_poll_interval_ms="</script>", job_max_poll_attempts="7",
                 job_timeout_ms="1000")
    values = browser_config(s)
    assert values["__JOB_POLL_INTERVAL_MS__"] == 5000  # not a number → default
    assert values["__JOB_MAX_POLL_ATTEMPTS__"] == 7
    js = config_js(values)
    out = subprocess.run(
        ["node", "-e", "const window = {};\n" + js + "\nconsole.log(JSON.stringify(window))"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout) == values


def test_config_warns_when_timeout_is_shorter_than_polling_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    browser_config(Settings(job_poll_interval_ms="5000", job_max_poll_attempts="120",
                            job_timeout_ms="60000"))
    assert "JOB_TIMEOUT_MS=60000 is shorter" in caplog.text
