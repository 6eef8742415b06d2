"""`jobgate watch ID ID ...` and `jobgate watch --all`: many jobs on one
connection, as a user runs them (a real subprocess against a real server)."""

from __future__ import annotations

import json
import signal
import subprocess

import jobgate
from tests.client.conftest import MakeStack
from tests.client.test_cli import JOBGATE, cli, env_for
from tests.client.test_client_stack import PARALLEL, all_events
from tests.server import Stack

TERMINAL = {"completed", "failed", "cancelled"}


def _sigint_as_in_a_terminal() -> None:
    """Children of a background shell inherit SIGINT ignored; a terminal's Ctrl-C
    reaches a process whose SIGINT is the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_all_json_follows_a_job_submitted_later(make_stack: MakeStack) -> None:
    """No worker at first: job A is pending. Its first line shows the watch is
    subscribed; then B is submitted and a worker started. Ctrl-C ends it (130)."""
    stack = make_stack(workers=0)
    with jobgate.Client(stack.url, stack.token()) as c:
        a = c.submit(PARALLEL).job_id
        proc = subprocess.Popen([JOBGATE, "watch", "--all", "--json"], env=env_for(stack),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_sigint_as_in_a_terminal)
        assert proc.stdout is not None
        try:
            first = json.loads(proc.stdout.readline())
            assert first["job_id"] == a and first["type"] == "state", first
            b = c.submit(PARALLEL).job_id
            stack.start_worker()
            lines, ended = [first], set()
            while ended != {a, b}:
                line = json.loads(proc.stdout.readline())
                lines.append(line)
                if line["type"] == "state" and line["data"]["status"] in TERMINAL:
                    ended.add(line["job_id"])
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 130 and "stopped watching" in err
    assert all(set(x) == {"job_id", "id", "type", "data"} for x in lines)
    for job_id in (a, b):
        mine = [x for x in lines if x["job_id"] == job_id]
        assert [x["id"] for x in mine if x["type"] != "result"] == [
            e.id for e in all_events(stack, job_id) if e.type != "token"]  # tokens: --tokens
        assert mine[-2]["type"] == "result" and mine[-2]["data"]["status"] == "completed"


def test_watch_several_ids_prints_lines_and_exits_with_the_worst_end(stack: Stack) -> None:
    with jobgate.Client(stack.url, stack.token()) as c:
        ids = [c.submit(PARALLEL).job_id for _ in range(2)]
        for job_id in ids:
            c.wait(job_id)
    out = cli(stack, "watch", *ids)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for job_id in ids:
        mine = [line.removeprefix(job_id + " ") for line in lines if line.startswith(job_id)]
        assert mine[0].startswith("[state] pending") and mine[-1].startswith("[state] completed")
        assert any(line.startswith("[agent_output]") for line in mine)
    missing = cli(stack, "watch", ids[0], "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f")
    assert missing.returncode == 1
    assert "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f [error] not_found" in missing.stdout


def test_watch_without_ids_or_all_is_a_usage_error(stack: Stack) -> None:
    out = cli(stack, "watch")
    assert out.returncode == 2 and "--all" in out.stderr
