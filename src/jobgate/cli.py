"""The `jobgate` command: run the server parts; client commands come from jobgate.client.

    jobgate up       API + workers + demo page (+ embedded Valkey when no URL)
    jobgate api      the HTTP API alone
    jobgate worker   a worker process alone
    jobgate token    mint a bearer token
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Coroutine
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from jobgate import logs
from jobgate.errors import ConfigError
from jobgate.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="jobgate: async jobs over HTTP.")
console = Console(stderr=True, soft_wrap=True)


def _run(coro: Coroutine[Any, Any, None]) -> None:
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


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from jobgate.api.app import create_app

    api = create_app(settings, workers=workers)

    class Server(uvicorn.Server):
        """Ends the waits as shutdown begins: open streams close cleanly and
        long-polls answer now, so clients resume on another process at once."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            svc, loop = getattr(api.state, "svc", None), getattr(api.state, "loop", None)
            if svc is not None and loop is not None:
                loop.call_soon_threadsafe(svc.notifier.close_waits)

    config = uvicorn.Config(
        api, host=host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, re-raised after a clean stop
        Server(config).run()


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="In-process workers.")] = 1,
) -> None:
    """API, workers and demo page in one process, on an embedded Valkey when no URL is set."""
    from jobgate.api.auth import mint_token
    from jobgate.embedded import EmbeddedValkey

    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    embedded = None
    if not settings.redis_url:
        embedded = EmbeddedValkey(settings.data_dir / "valkey")
        settings.redis_url = embedded.start()
    try:
        settings.auth_secret = settings.auth_secret or _secret(settings.data_dir)
        token = mint_token(settings.auth_secret, "demo")
        settings.demo_token = token
        where = "embedded Valkey (" + str(settings.data_dir / "valkey") + ")" if embedded \
            else "Valkey at JOBGATE_REDIS_URL"
        backend = settings.llm_backend + (" (a simulator: no real LLM is called)"
                                          if settings.llm_backend == "simulated" else "")
        console.print(f"[bold]jobgate[/] on http://{host}:{port}  ·  {where}")
        console.print(f"LLM backend: {backend}")
        console.print(f"demo token (sub=demo): {token}")
        console.print(f"  export JOBGATE_URL=http://{host}:{port} JOBGATE_TOKEN={token}")
        _serve(settings, host, port, workers)
    finally:
        if embedded is not None:
            embedded.stop()


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
    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _require_url(settings)
    _serve(settings, host, port, workers=0)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty.")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Serve /metrics here.")] = None,
) -> None:
    """A worker process: SIGTERM stops claiming, finishes or hands back running jobs."""
    settings = Settings()
    logs.setup(settings.log_level, settings.log_json)
    _require_url(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    _run(_worker_main(settings, concurrency, burst))


async def _worker_main(settings: Settings, concurrency: int | None, burst: bool) -> None:
    from jobgate.handlers import registry
    from jobgate.worker import serve

    await serve(settings, registry(settings), concurrency=concurrency, burst=burst)


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
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
