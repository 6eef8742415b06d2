"""The client commands of `jobgate`: submit, status, result, cancel, watch.

    jobgate submit --query TEXT [--mode M] [--agents a,b] [--primary X]
                   [--priority P] [--wait] [--json]
    jobgate status|result|cancel|watch ID
    jobgate watch ID ID ... | --all [--json]    many jobs on one connection

Every command takes `--url`/`--token` (or JOBGATE_URL/JOBGATE_TOKEN) and
speaks HTTP only. Results go to stdout, messages to stderr. While `submit
--wait` waits, a terminal shows a progress bar (on stderr); any other stdout
gets one line per state change and progress step before the result, and
`--json` one JSON object per event, the last being the result (`_output.py`).
A failed job's `error` text goes to stderr.
Exit codes: 0 completed, 1 failed (or any other error), 2 usage or invalid
request, 3 cancelled, 4 timed out (or, for `result`, not done yet), 130 Ctrl-C.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from jobgate.client._models import AGENT_NAMES, COORDINATION_MODES

if TYPE_CHECKING:
    from pydantic import BaseModel

    from jobgate.client._sync import Client
    from jobgate.client._tracker import Progress
    from jobgate.models import JobResultResponse

ShowResult = Callable[["JobResultResponse"], object]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_TIMEOUT, EXIT_ABORTED = 0, 1, 2, 3, 4, 130

err = Console(stderr=True, soft_wrap=True, highlight=False)

Url = Annotated[str | None, typer.Option(envvar="JOBGATE_URL", help="Server URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="JOBGATE_TOKEN", show_envvar=True, help="Bearer token.")
]
Json = Annotated[bool, typer.Option("--json", help="Print raw JSON.")]
JsonLines = Annotated[
    bool, typer.Option("--json", help="Print JSON: one event a line, the result last.")
]
Timeout = Annotated[float | None, typer.Option(help="Give up waiting after this many seconds.")]
CancelOnAbort = Annotated[
    bool, typer.Option(help="Cancel the job when the wait is stopped (Ctrl-C, timeout).")
]
MODES = "sequential, parallel, collaborative (default), debate or enhanced_collaborative."
AGENTS = ", ".join(AGENT_NAMES)
AGENTS_HELP = f"Supporting agents, comma-separated: {AGENTS}."
JobId = Annotated[str, typer.Argument(help="The job id.")]
WAIT_HELP = ("Wait for the result: a progress bar on a terminal, else one line per state "
             "change and progress step.")


def _client(url: str | None, token: str | None) -> Client:
    from jobgate.client._sync import Client

    return Client(url, token)


def _echo_json(model: BaseModel) -> None:
    typer.echo(model.model_dump_json(indent=2))


@contextmanager
def _errors(show_result: ShowResult | None = None) -> Iterator[None]:
    """Map the SDK's errors to messages and exit codes, in one place; a failed
    or cancelled job's result goes to `show_result` first, if given. A job's
    error is the server's own text ("Job failed: …"), printed as it is."""
    from jobgate.client import _errors as e

    try:
        yield
    except e.JobFailed as exc:
        if show_result is not None:
            show_result(exc.result)
        err.print(f"[red]{escape(exc.message)}[/] ({escape(exc.code)})")
        raise typer.Exit(EXIT_FAILED) from None
    except e.JobCancelled as exc:
        if show_result is not None:
            show_result(exc.result)
        err.print(f"[yellow]{escape(exc.message)}[/] (job {exc.job_id})")
        raise typer.Exit(EXIT_CANCELLED) from None
    except e.JobTimeout as exc:
        err.print(f"[yellow]timed out[/] after {exc.timeout} s; job {exc.job_id} left running")
        raise typer.Exit(EXIT_TIMEOUT) from None
    except e.JobNotDone as exc:
        err.print(f"job {exc.job_id} is still {exc.status.status.value}")
        raise typer.Exit(EXIT_TIMEOUT) from None
    except e.APIError as exc:
        err.print(f"[red]error[/]: {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE if exc.status_code in (400, 413, 422) else EXIT_FAILED) \
            from None
    except e.ClientError as exc:
        err.print(f"[red]error[/]: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None


def _agents(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [a.strip() for a in value.split(",") if a.strip()]
    bad = [a for a in names if a not in AGENT_NAMES]
    if bad:
        raise typer.BadParameter(f"unknown agent(s) {bad}; known: {sorted(AGENT_NAMES)}")
    return names


def time_left(p: Progress, elapsed: float, estimate: float | None) -> float | None:
    """Seconds left: the server's word if it gave one, else extrapolated from progress."""
    if p.estimated_remaining_seconds is not None:
        return p.estimated_remaining_seconds
    if p.progress >= 0.02:
        return elapsed * (1 - p.progress) / p.progress
    return None if estimate is None else max(estimate - elapsed, 0.0)


def describe(p: Progress) -> str:
    """One line for the progress bar: the state and the current agent step."""
    step = p.step
    if step is not None and step.agent:
        where = f" ({step.index}/{step.total})" if step.index and step.total else ""
        return f"{step.agent}{where}"
    return p.message or p.status.value


def _wait_with_bar(
    client: Client, job_id: str, estimate: float | None, timeout: float | None, cancel: bool
) -> JobResultResponse:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn

    started = time.monotonic()
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[left]}"),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("queued", total=1.0, left="")

        def show(p: Any) -> None:
            left = time_left(p, time.monotonic() - started, estimate)
            bar.update(task, completed=p.progress, description=describe(p),
                       left="" if left is None else f"~{left:.0f} s left")

        return client.wait(job_id, on_progress=show, timeout=timeout, cancel_on_abort=cancel)


def _print_result(result: JobResultResponse) -> None:
    if isinstance(result.result, dict) and "response" in result.result:
        typer.echo(result.result["response"])
    else:
        typer.echo(result.result)


def _aborted(job_id: str, cancelled: bool) -> typer.Exit:
    what = "cancelled" if cancelled else f"left running (jobgate cancel {job_id})"
    err.print(f"stopped waiting; job {job_id} {what}")
    return typer.Exit(EXIT_ABORTED)


def submit(
    query: Annotated[str, typer.Option(help="What to ask the agents.")],
    mode: Annotated[str | None, typer.Option(help=MODES)] = None,
    agents: Annotated[str | None, typer.Option(help=AGENTS_HELP)] = None,
    primary: Annotated[str | None, typer.Option(help="The agent that writes the answer.")] = None,
    priority: Annotated[str | None, typer.Option(help="high, normal or low.")] = None,
    wait: Annotated[bool, typer.Option(help=WAIT_HELP)] = False,
    as_json: JsonLines = False,
    timeout: Timeout = None,
    cancel_on_abort: CancelOnAbort = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Submit a multi-agent job; with --wait, follow its progress and print the result."""
    from jobgate.client._output import Lines
    from jobgate.job import Priority

    request: dict[str, Any] = {"query": query, "supporting_agents": _agents(agents)}
    if mode is not None:
        request["coordination_mode"] = _choice(COORDINATION_MODES, mode, "--mode")
    if primary is not None:
        request["primary_agent"] = _choice(AGENT_NAMES, primary, "--primary")
    prio = _choice(tuple(Priority), priority, "--priority") if priority else None
    request = {k: v for k, v in request.items() if v is not None}
    lines = None if not as_json and sys.stdout.isatty() else Lines(typer.echo, as_json=as_json)
    with _errors(lines.on_result if lines else None), _client(url, token) as client:
        job = client.submit(request, priority=prio)
        if not wait:
            if as_json:
                _echo_json(job)
            else:
                typer.echo(job.job_id)
            return
        err.print(f"job {job.job_id}")
        try:
            if lines is None:
                result = _wait_with_bar(
                    client, job.job_id, job.estimated_completion_seconds, timeout,
                    cancel_on_abort,
                )
            else:
                lines.on_submitted(job)
                result = client.wait(
                    job.job_id, on_event=lines.on_event, on_progress=lines.on_progress,
                    timeout=timeout, cancel_on_abort=cancel_on_abort,
                )
        except KeyboardInterrupt:
            raise _aborted(job.job_id, cancel_on_abort) from None
        if lines is not None and as_json:
            lines.on_result(result)
        else:
            _print_result(result)


def _choice(known: tuple[str, ...], value: str, flag: str) -> str:
    if value not in known:
        raise typer.BadParameter(f"{value!r} is not valid; one of {', '.join(known)}",
                                 param_hint=flag)
    return value


def status(
    job_id: JobId,
    wait: Annotated[float, typer.Option(help="Long-poll: answer once the job changes.")] = 0,
    url: Url = None,
    token: Token = None,
) -> None:
    """Print the job's status as JSON."""
    with _errors(), _client(url, token) as client:
        _echo_json(client.status(job_id, wait=wait or None))


def result(job_id: JobId, as_json: Json = False, url: Url = None, token: Token = None) -> None:
    """Print the job's result (exit 1 failed, 3 cancelled, 4 not done yet)."""
    from jobgate.job import JobState

    with _errors(), _client(url, token) as client:
        res = client.result(job_id)
        if as_json or res.status is not JobState.COMPLETED:
            _echo_json(res)
    if res.status is JobState.COMPLETED:
        if not as_json:
            _print_result(res)
        return
    err.print(escape(res.error or f"job {res.status.value}"))
    raise typer.Exit(EXIT_FAILED if res.status is JobState.FAILED else EXIT_CANCELLED)


def cancel(job_id: JobId, url: Url = None, token: Token = None) -> None:
    """Cancel the job; prints its status."""
    with _errors(), _client(url, token) as client:
        _echo_json(client.cancel(job_id))


def watch(
    job_ids: Annotated[list[str] | None, typer.Argument(help="The job id(s).")] = None,
    every: Annotated[bool, typer.Option(
        "--all", help="Every job of yours, also those submitted later (until Ctrl-C).")] = False,
    as_json: JsonLines = False,
    tokens: Annotated[bool, typer.Option(help="Show streamed tokens too.")] = False,
    timeout: Timeout = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Print a job's events as they happen until it ends (one JSON object a
    line with --json, the result last). Several ids, or --all, follow many
    jobs on one connection: each line then starts with (or has) its job id."""
    from jobgate.client._output import Lines

    ids = job_ids or []
    if not ids and not every:
        raise typer.BadParameter("give a job id, or --all", param_hint="JOB_IDS")
    if every or len(ids) > 1:
        raise typer.Exit(_watch_many(ids, every, as_json, tokens, timeout, url, token))
    lines = Lines(typer.echo, as_json=as_json, everything=True, tokens=tokens)
    with _errors(lines.on_result), _client(url, token) as client:
        try:
            result = client.wait(
                ids[0], on_event=lines.on_event, on_progress=lines.on_progress, timeout=timeout
            )
        except KeyboardInterrupt:
            raise _aborted(ids[0], False) from None
        lines.on_result(result)


def _watch_many(
    ids: list[str], every: bool, as_json: bool, tokens: bool, timeout: float | None,
    url: str | None, token: str | None,
) -> int:
    """Follow many jobs on one socket; the exit code of the worst ending."""
    from jobgate.client._output import UpdateLines

    lines = UpdateLines(typer.echo, as_json=as_json, tokens=tokens)
    with _errors(), _client(url, token) as client:
        try:
            for update in client.watch(ids, all=every, timeout=timeout):
                lines.on_update(update)
        except KeyboardInterrupt:
            err.print("stopped watching")
            return EXIT_ABORTED
    ended = set(lines.outcomes.values())
    if ended & {"failed", "error"}:
        return EXIT_FAILED
    return EXIT_CANCELLED if "cancelled" in ended else EXIT_OK


def register(app: typer.Typer) -> None:
    """Add the client commands to the `jobgate` command."""
    for command in (submit, status, result, cancel, watch):
        app.command()(command)


def main() -> None:
    """`jobgate` of the client-only distribution: the client commands alone."""
    app = typer.Typer(no_args_is_help=True, add_completion=False,
                      help="jobgate: submit and follow jobs over HTTP.")
    register(app)
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(EXIT_ABORTED) from None
