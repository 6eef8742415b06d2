"""`jobgate submit|status|result|cancel|watch` as a user runs them: a real
subprocess against a real server, reading stdout, stderr and the exit code."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jobgate
from jobgate.client.cli import AGENTS, MODES, describe, time_left
from tests.client.conftest import MakeStack
from tests.llm_gate import LLMGate
from tests.server import Stack

JOBGATE = str(Path(sys.executable).parent / "jobgate")


def env_for(stack: Stack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBGATE_")}
    env.update({"JOBGATE_URL": stack.url, "JOBGATE_TOKEN": stack.token()}, **extra)
    return env


def cli(stack: Stack, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JOBGATE, *args], env=env_for(stack), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_submit_wait_piped_prints_a_line_per_change_then_the_response(stack: Stack) -> None:
    out = cli(stack, "submit", "--query", "a todo app for cats", "--mode", "sequential",
              "--wait")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    states = [line for line in lines if line.startswith("[state] ")]
    assert [s.split()[1].rstrip(":") for s in states] == ["pending", "processing", "completed"]
    progress = [line for line in lines if line.startswith("[progress] ")]
    # Seven sequential steps, each a line of its own, rising to 100 %.
    assert len(progress) >= 7, lines
    percents = [percent(p) for p in progress]
    assert percents == sorted(percents) and percents[-1] == 100, percents
    assert len(set(percents)) >= 7, percents
    # The answer follows the last state line; progress goes nowhere else.
    after = lines[lines.index(states[-1]) + 1:]
    assert after and "Simulated" in "\n".join(after)
    assert "job " in out.stderr and "[progress]" not in out.stderr


def test_submit_wait_json_prints_one_event_a_line_and_the_result_last(stack: Stack) -> None:
    out = cli(stack, "submit", "--query", "cats", "--mode", "sequential",
              "--agents", "research,analysis", "--primary", "summary", "--priority", "high",
              "--wait", "--json")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert all(set(e) == {"id", "type", "data"} for e in events), events
    assert events[0]["type"] == "submitted"
    job_id = events[0]["data"]["job_id"]
    log = events[1:-1]
    assert all(e["id"] for e in log)  # the stream's own events, resumable by id
    assert [e["data"]["status"] for e in log if e["type"] == "state"] == [
        "pending", "processing", "completed"]
    assert any(e["type"] == "progress" for e in log)
    assert any(e["type"] == "agent_output" for e in log)
    last = events[-1]
    assert last["type"] == "result" and last["data"]["job_id"] == job_id
    body = last["data"]
    assert body["status"] == "completed" and body["error"] is None
    response = jobgate.MultiAgentResponse.model_validate(body["result"])
    assert response.primary_agent == "summary"
    assert {i.from_agent for i in response.agent_interactions} >= {"research", "analysis"}


def test_a_terminal_gets_the_bar_and_no_lines(stack: Stack) -> None:
    """With stdout a terminal, progress is the bar's (on stderr): stdout holds the answer only."""
    master, slave = pty.openpty()
    try:
        with subprocess.Popen(
            [JOBGATE, "submit", "--query", "cats", "--mode", "parallel", "--wait"],
            env=env_for(stack), stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        ) as proc:
            os.close(slave)
            slave = -1
            chunks: list[bytes] = []
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the child closed its end of the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    out = b"".join(chunks).decode()
    assert "Simulated" in out
    assert "[state]" not in out and "[progress]" not in out, out


def test_piped_lines_arrive_while_the_job_runs(make_stack: MakeStack) -> None:
    """The job is held at a gate after its first agent: the lines so far must
    already be out, and nothing about the end."""
    gate = LLMGate().start()
    try:
        stack = make_stack(**gate.env())
        with subprocess.Popen(
            [JOBGATE, "submit", "--query", "cats", "--mode", "sequential", "--wait"],
            env=env_for(stack), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        ) as proc:
            try:
                lines = LineReader(proc)
                gate.allow(1)  # the first agent answers; the second waits at the gate
                seen = lines.until(lambda ln: ln.startswith("[progress] ") and percent(ln) > 0)
                assert any(line.startswith("[state] processing") for line in seen), seen
                assert not any("completed" in line for line in seen), seen
                assert proc.poll() is None  # still waiting: the job is held
            finally:
                gate.open()  # whatever happened, the job (and so the child) can end
            rest = lines.rest(timeout=60)
            assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
        assert any(line.startswith("[state] completed") for line in rest), rest
    finally:
        gate.close()


def percent(line: str) -> int:
    """14 from "[progress] 14% research agent: … done"."""
    return int(line.split()[1].rstrip("%"))


class LineReader:
    """Reads a child's stdout line by line on a thread, so a test can wait for
    a line with a timeout instead of blocking on the pipe."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self.queue.put(line.rstrip("\n"))
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, found: Callable[[str], bool], timeout: float = 60) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert line is not None, f"output ended first: {seen}"
            seen.append(line)
            if found(line):
                return seen

    def rest(self, timeout: float) -> list[str]:
        seen: list[str] = []
        while (line := self.queue.get(timeout=timeout)) is not None:
            seen.append(line)
        return seen


def test_submit_then_status_result_watch(stack: Stack) -> None:
    out = cli(stack, "submit", "--query", "cats", "--mode", "parallel")
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    watch = cli(stack, "watch", job_id)
    assert watch.returncode == 0, watch.stderr
    lines = watch.stdout.splitlines()
    assert lines[0].startswith("[state] pending") and lines[-1].startswith("[state] completed")
    assert any(line.startswith("[agent_output]") for line in lines)
    assert any(line.startswith("[progress]") for line in lines)
    raw = cli(stack, "watch", job_id, "--json")
    events = [json.loads(line) for line in raw.stdout.splitlines()]
    assert all(set(e) == {"id", "type", "data"} for e in events)
    assert events[-2]["type"] == "state" and events[-2]["data"]["status"] == "completed"
    assert events[-1]["type"] == "result" and events[-1]["data"]["job_id"] == job_id
    status = cli(stack, "status", job_id)
    assert json.loads(status.stdout)["status"] == "completed"
    result = cli(stack, "result", job_id)
    assert result.returncode == 0 and "Simulated" in result.stdout
    as_json = cli(stack, "result", job_id, "--json")
    assert json.loads(as_json.stdout)["job_id"] == job_id


def test_usage_errors_exit_2(stack: Stack) -> None:
    assert cli(stack, "submit").returncode == 2  # --query missing
    assert cli(stack, "submit", "--query", "q", "--mode", "chaos").returncode == 2
    assert cli(stack, "submit", "--query", "q", "--agents", "nobody").returncode == 2


def test_unknown_job_and_bad_token_exit_1(stack: Stack) -> None:
    out = cli(stack, "status", "0b9e7f64-9d1c-4f34-a1b1-0a6c1d2c3e4f")
    assert out.returncode == 1 and "404" in out.stderr
    bad = subprocess.run([JOBGATE, "status", "x", "--token", "forged", "--url", stack.url],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "401" in bad.stderr


def _first_job(stack: Stack) -> str:
    with jobgate.Client(stack.url, stack.token()) as c:
        deadline = time.monotonic() + 20
        while not (jobs := c.jobs().jobs):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return jobs[0].job_id


def test_a_cancelled_job_exits_3(make_stack: MakeStack) -> None:
    stack = make_stack(workers=0)  # no worker: the job holds still until it is cancelled
    proc = subprocess.Popen([JOBGATE, "submit", "--query", "cats", "--mode", "sequential",
                             "--wait", "--json"], env=env_for(stack),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    job_id = json.loads(proc.stdout.readline())["data"]["job_id"]  # the submitted line
    assert cli(stack, "cancel", job_id).returncode == 0
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "result" and last["data"]["status"] == "cancelled"
    assert last["data"]["error_code"] == "cancelled"
    assert last["data"]["error"].startswith("Job cancelled: ")
    assert last["data"]["error"] in err
    assert cli(stack, "result", job_id).returncode == 3


FAILING = {"JOBGATE_LLM_BACKEND": "openai", "JOBGATE_LLM_BASE_URL": "http://127.0.0.1:9",
           "JOBGATE_LLM_API_KEY": "sk-test", "JOBGATE_MAX_ATTEMPTS": "1"}
"""A model nobody answers for (the discard port), and no second try: the job fails."""


def test_a_failed_job_prints_its_error_and_exits_1(make_stack: MakeStack) -> None:
    stack = make_stack(**FAILING)
    out = cli(stack, "submit", "--query", "cats", "--wait")
    assert out.returncode == 1, out.stderr
    with jobgate.Client(stack.url, stack.token()) as c:
        failed = c.result(_first_job(stack))
    assert failed.error and failed.error.startswith("Job failed: ")
    assert failed.error in out.stderr and "llm_unavailable" in out.stderr
    assert out.stdout.splitlines()[-1].startswith("[state] failed")

    as_json = cli(stack, "submit", "--query", "cats", "--wait", "--json")
    assert as_json.returncode == 1, as_json.stderr
    last = json.loads(as_json.stdout.splitlines()[-1])
    assert last["type"] == "result" and last["data"]["status"] == "failed"
    assert last["data"]["error"].startswith("Job failed: ")
    assert last["data"]["error_code"] == "llm_unavailable"
    assert last["data"]["error"] == "Job failed: " + last["data"]["error_detail"]

    result = cli(stack, "result", failed.job_id)
    assert result.returncode == 1 and failed.error in result.stderr


def test_timeout_exits_4_and_leaves_the_job(slow_stack: Stack) -> None:
    out = cli(slow_stack, "submit", "--query", "cats", "--mode", "sequential", "--wait",
              "--timeout", "0.5")
    assert out.returncode == 4, out.stderr
    job_id = _first_job(slow_stack)
    assert cli(slow_stack, "result", job_id).returncode in (0, 4)  # still running, or done


def _sigint_as_in_a_terminal() -> None:
    """A shell starts background jobs with SIGINT ignored and children inherit
    that (so a suite run in the background would see Ctrl-C ignored); a
    terminal's Ctrl-C reaches a process whose SIGINT is the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("cancel_on_abort", [False, True])
def test_ctrl_c_stops_waiting(make_stack: MakeStack, cancel_on_abort: bool) -> None:
    stack = make_stack(workers=0)  # the job holds still (pending) until the CLI has stopped
    args = [JOBGATE, "submit", "--query", "cats", "--mode", "sequential", "--wait"]
    proc = subprocess.Popen(args + (["--cancel-on-abort"] if cancel_on_abort else []),
                            env=env_for(stack), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_in_a_terminal)
    assert proc.stdout is not None and proc.stderr is not None
    job_id = next(line.split()[1] for line in proc.stderr if line.startswith("job "))
    assert proc.stdout.readline().startswith("[state] pending")  # it is waiting now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "stopped waiting" in err
    stack.start_worker()
    with jobgate.Client(stack.url, stack.token()) as c:
        state = c.status(job_id).status
        expected = jobgate.JobState.CANCELLED if cancel_on_abort else jobgate.JobState.COMPLETED
        assert state is expected or c.wait(job_id).status is expected


def test_progress_line_helpers() -> None:
    p = jobgate.Progress(job_id="j", status=jobgate.JobState.PROCESSING, progress=0.25,
                         message="m", attempt=1,
                         step=jobgate.Step(agent="research", index=2, total=7))
    assert describe(p) == "research (2/7)"
    assert time_left(p, elapsed=3.0, estimate=None) == pytest.approx(9.0)
    early = jobgate.Progress(job_id="j", status=jobgate.JobState.PENDING, progress=0.0,
                             message="queued", attempt=0)
    assert describe(early) == "queued"
    assert time_left(early, elapsed=1.0, estimate=5.0) == 4.0
    assert time_left(early, elapsed=1.0, estimate=None) is None


def test_help_names_every_agent_and_mode() -> None:
    assert AGENTS.split(", ") == [a.value for a in jobgate.AgentName]
    assert all(m.value in MODES for m in jobgate.CoordinationMode)
