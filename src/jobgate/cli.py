"""The `jobgate` command: run the server parts; client commands come from jobgate.client.

Each server command builds its final settings, then goes through runtime.py.

    jobgate up       API + workers + demo page (+ embedded Valkey when no URL)
    jobgate api      the HTTP API alone
    jobgate worker   a worker process alone
    jobgate archiver the history archiver alone (workers run one too)
    jobgate db upgrade   bring the history database's schema up to date
    jobgate token    mint a bearer token
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from jobgate import __version__, logs
from jobgate.errors import ConfigError
from jobgate.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="jobgate: async jobs over HTTP.")
console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("jobgate.cli")


def _run(coro: Coroutine[Any, Any, object]) -> None:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)


def _secret(data_dir: Path) -> str:
    """The local secret: made once, kept in the data dir (mode 600)."""
    path = data_dir / "auth_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


UP_SHUTDOWN_GRACE_S = 2.0


def up_grace_s(settings: Settings) -> float:
    """How long `up`'s running jobs may finish after Ctrl-C before they are handed
    back for the next start. A person at a terminal waits for the stop, so the
    whole stop fits in 5 s unless JOBGATE_SHUTDOWN_GRACE_S is set explicitly."""
    if "shutdown_grace_s" in settings.model_fields_set:
        return settings.shutdown_grace_s
    return UP_SHUTDOWN_GRACE_S


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass
class _Banner:
    """What `up` prints once it serves: the setup, then the URL, the token and how to stop."""

    url: str
    where: str
    backend: str
    token: str
    token_served: bool

    def lines(self) -> list[str]:
        note = "" if self.token_served else \
            "  (not served in /config.js off loopback: paste it into the page)"
        return [
            f"jobgate {__version__}  ·  {self.where}  ·  LLM backend: {self.backend}",
            f"  export JOBGATE_URL={self.url} JOBGATE_TOKEN={self.token}",
            f"demo page: {self.url}",
            f"demo token (sub=demo): {self.token}{note}",
            "Ctrl-C to stop",
        ]

    def print(self) -> None:
        for line in self.lines():
            console.print(line, markup=False, highlight=False)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="In-process workers.")] = 1,
    demo: Annotated[bool, typer.Option(
        help="Serve the demo token in /config.js even off loopback (anyone reaching the port "
             "gets it).")] = False,
) -> None:
    """API, workers and demo page in one process, on an embedded Valkey when no URL is set.

    One `up` per data dir and port: a second is refused before it starts
    anything. Ctrl-C stops it: running jobs get JOBGATE_SHUTDOWN_GRACE_S
    (2 s here) to finish, the rest go back to the queue and run at the next
    start; a second Ctrl-C hands them back at once. Valkey is stopped last.
    """
    from jobgate.instance import DataDirLock, bind_port

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as Ctrl-C does
    with DataDirLock(settings.data_dir):
        sock = bind_port(host, port)
        try:
            port = sock.getsockname()[1]  # with --port 0, the one the kernel chose
            _up(settings, host, port, workers, demo, sock)
        finally:
            sock.close()


def _up(
    env: Settings, host: str, port: int, workers: int, demo: bool, sock: socket.socket
) -> None:
    """`env` is what the environment says; the settings every part gets are built
    from it once, with the embedded Valkey's URL, the local secret and the grace."""
    from jobgate.api.auth import mint_token
    from jobgate.api.web import demo_token_allowed, is_loopback
    from jobgate.embedded import EmbeddedValkey
    from jobgate.runtime import Roles, serve_api

    served = demo_token_allowed(host, demo)
    if demo and not is_loopback(host):
        log.warning("--demo: /config.js hands the demo token to anyone who reaches %s",
                    _url(host, port))
    embedded = None if env.redis_url else EmbeddedValkey(env.data_dir / "valkey")
    redis_url = embedded.start() if embedded is not None else env.redis_url
    try:
        secret = env.auth_secret or _secret(env.data_dir)
        token = mint_token(secret, "demo")
        settings = env.model_copy(update={
            "redis_url": redis_url, "auth_secret": secret,
            "demo_token": token if served else None, "shutdown_grace_s": up_grace_s(env),
        })
        _upgrade_history(settings)
        where = f"embedded Valkey ({settings.data_dir / 'valkey'})" if embedded \
            else "Valkey at JOBGATE_REDIS_URL"
        backend = settings.llm_backend + (" (a simulator: no real LLM is called)"
                                          if settings.llm_backend == "simulated" else "")
        banner = _Banner(_url(host, port), where, backend, token, served)
        serve_api(settings, Roles(workers=workers), host, port, sock=sock,
                  graceful_s=settings.shutdown_grace_s + 1, on_ready=banner.print)
    finally:
        if embedded is not None:
            embedded.stop()  # last: the workers' results and hand-backs are written by now


def _require_url(settings: Settings) -> None:
    if not settings.redis_url:
        raise ConfigError(
            "JOBGATE_REDIS_URL is not set: several API and worker processes must share one "
            "Valkey. Set it, or use `jobgate up` for a single-process setup."
        )


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """The HTTP API alone (workers run apart, e.g. in Kubernetes)."""
    from jobgate.runtime import Roles, serve_api

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _require_url(settings)
    serve_api(settings, Roles(), host, port)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty.")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Serve /metrics here.")] = None,
) -> None:
    """A worker process: SIGTERM stops claiming, finishes or hands back running jobs."""
    from jobgate import runtime

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _require_url(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    roles = runtime.Roles(workers=1, concurrency=concurrency, burst=burst)
    _run(runtime.run(settings, roles))


db_app = typer.Typer(no_args_is_help=True, help="The history database (SQL).")
app.add_typer(db_app, name="db")


def _upgrade_history(settings: Settings) -> None:
    from jobgate.history.db import database_url, make_safe, upgrade

    try:
        _run(upgrade(settings))
    except Exception as exc:  # the driver's own errors: say which database and why
        raise ConfigError(
            f"history database {make_safe(database_url(settings))}: cannot upgrade: {exc}"
        ) from exc


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the history tables (JOBGATE_DATABASE_URL; unset: SQLite in data dir)."""
    from jobgate.history.db import database_url, make_safe

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _upgrade_history(settings)
    console.print(f"history database up to date: {make_safe(database_url(settings))}",
                  markup=False, highlight=False)


@app.command()
def archiver(
    burst: Annotated[bool, typer.Option(help="Drain the outbox once and exit.")] = False,
) -> None:
    """The archiver alone: copies ended jobs from Valkey's outbox into the history database."""
    from jobgate import runtime

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _require_url(settings)
    _run(runtime.run(settings, runtime.Roles(archiver=True, burst=burst)))


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="The user the token speaks for.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 30 * 86_400,
    admin: Annotated[bool, typer.Option(help="An operator's token (scope jobgate:admin).")] = False,
) -> None:
    """Mint a bearer token signed with JOBGATE_AUTH_SECRET (or the local one of `up`)."""
    from jobgate.api.auth import ADMIN_SCOPE, mint_token

    settings = Settings()
    secret = settings.auth_secret or _secret(settings.data_dir)
    typer.echo(mint_token(secret, sub, ttl, scopes=[ADMIN_SCOPE] if admin else []))


def _add_client_commands() -> None:
    try:
        from jobgate.client.cli import register
    except ImportError:
        return
    register(app)


_add_client_commands()


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        console.print("[red]error:[/]", escape(str(exc)))
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # Ctrl-C before the server ran (it handles its own)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
